import sql from 'mssql';
import { describe, expect, it } from 'vitest';
import { TokenCipher, parseKeyRing } from '../../src/crypto/tokenCipher.js';
import { credentialGeneration, LIMITS, type AttemptRecord, type CredentialStore } from '../../src/credentials/index.js';
import { REQUIRED_MIGRATION, REQUIRED_MIGRATIONS } from '../../src/store/mssql/migrations.js';
import { MssqlEngine } from '../../src/store/mssql/mssqlEngine.js';
import { procedureName, PROCEDURES_VERSION } from '../../src/store/mssql/procedures.js';
import * as operations from '../../src/store/operations/index.js';
import { SqlStore } from '../../src/store/sqlStore.js';

/**
 * The SQL Server store against a recording stand-in for the mssql pool (what the engine sends, not what the server
 * does: that is the SQL Server contract suite's job, test/contract/sqlServer.test.ts, on a TDS engine). Every
 * CredentialStore method sends exactly ONE request (an EXEC of its stored procedure, or one parameterized query),
 * small enough for one 4,096-byte TDS packet (a longer request waits on Nagle's algorithm and the server's delayed
 * ACK, ~44 ms on loopback), with every value a typed input; and each method maps the answer to its result.
 */

interface Answer {
  recordset?: Record<string, unknown>[];
  /** Every result set of the batch, when it answers more than `recordset` (checkHealth's incidents). */
  recordsets?: Record<string, unknown>[][];
  rowsAffected?: number[];
}

interface Sent {
  via: 'query' | 'batch' | 'execute';
  /** The query text, or the procedure's name. */
  text: string;
  inputs: Map<string, { type: sql.ISqlType; value: unknown }>;
}

/** What the store may touch: `request()` (recorded) and `close()`. Anything else (transaction(), connect()) is absent. */
class RecordingPool {
  readonly sent: Sent[] = [];
  requests = 0;
  closed = 0;

  constructor(private readonly answer: Answer = {}) {}

  request(): RecordingRequest {
    this.requests += 1;
    return new RecordingRequest(this, this.answer);
  }

  close(): Promise<void> {
    this.closed += 1;
    return Promise.resolve();
  }
}

class RecordingRequest {
  private readonly inputs = new Map<string, { type: sql.ISqlType; value: unknown }>();

  constructor(
    private readonly pool: RecordingPool,
    private readonly answer: Answer,
  ) {}

  input(name: string, type: sql.ISqlType | (() => sql.ISqlType), value: unknown): this {
    this.inputs.set(name, { type: typeof type === 'function' ? type() : type, value });
    return this;
  }

  query(text: string): Promise<unknown> {
    return this.send('query', text);
  }

  batch(text: string): Promise<unknown> {
    return this.send('batch', text);
  }

  execute(procedure: string): Promise<unknown> {
    return this.send('execute', procedure);
  }

  private send(via: Sent['via'], text: string): Promise<unknown> {
    this.pool.sent.push({ via, text, inputs: this.inputs });
    const recordset = this.answer.recordset ?? [];
    return Promise.resolve({ recordset, recordsets: this.answer.recordsets ?? [recordset], rowsAffected: this.answer.rowsAffected ?? [] });
  }
}

function storeWith(answer: Answer = {}): { store: SqlStore; pool: RecordingPool } {
  const pool = new RecordingPool(answer);
  return { store: new SqlStore(new MssqlEngine(pool as unknown as sql.ConnectionPool, 'dbo')), pool };
}

/**
 * The bytes a request puts on the wire, from MS-TDS 2.2.6.6 (RPC request): a procedure's name, or sp_executesql with
 * the text and its parameter declarations (both NVARCHAR: two bytes a character), then per parameter its name
 * (UTF-16), a type header, and the value (two bytes a character for NVARCHAR, one for VARCHAR, 8 for a date or BIGINT,
 * 4 for INT). The headers are counted generously (20 bytes a parameter, 64 for the request), so the bound is safe.
 */
function wireBytes(sent: Sent): number {
  const declarations = [...sent.inputs.keys()].map((name) => `@${name} NVARCHAR(4000)`).join(',');
  let bytes = 64 + 2 * sent.text.length + (sent.via === 'execute' ? 0 : 2 * declarations.length + 40);
  for (const [name, { type, value }] of sent.inputs) {
    bytes += 20 + 2 * name.length;
    if (typeof value === 'string') bytes += (type.type === sql.NVarChar ? 2 : 1) * value.length;
    else if (value !== null && value !== undefined) bytes += 8;
  }
  return bytes;
}
const TDS_PACKET = 4096;

const T0 = new Date('2025-03-01T10:00:00.000Z');
const HASH = 'a'.repeat(64);
const ATTEMPT_ROW = {
  attempt_id: '7',
  state_hash: HASH,
  browser_binding_hash: 'b'.repeat(64),
  flow: 'website',
  customer_id: 'cust-1',
  scope: 'NA',
  region: 'NA',
  marketplace: 'US',
  selling_partner_id: null,
  expected_selling_partner_id: null,
  code_hash: null,
  created_at: T0,
  expires_at: new Date(T0.getTime() + 600_000),
  consumed_at: null,
  exchange_deadline: null,
  completed_at: null,
  outcome: 'pending',
  reason: null,
  lwa_error: null,
  lwa_error_description: null,
  related_attempt_id: null,
  refusal_count: 0,
};
/** The attempt a refused callback names. */
const RELATED: AttemptRecord = {
  attemptId: 7,
  stateHash: HASH,
  browserBindingHash: 'b'.repeat(64),
  flow: 'website',
  customerId: 'cust-1',
  scope: 'NA',
  region: 'NA',
  marketplace: 'US',
  sellingPartnerId: null,
  expectedSellingPartnerId: null,
  codeHash: null,
  createdAt: T0,
  expiresAt: new Date(T0.getTime() + 600_000),
  consumedAt: null,
  exchangeDeadline: null,
  completedAt: null,
  outcome: 'pending',
  reason: null,
  lwaError: null,
  lwaErrorDescription: null,
  relatedAttemptId: null,
  refusalCount: 0,
};
const NEW_ATTEMPT = {
  stateHash: HASH,
  browserBindingHash: 'b'.repeat(64),
  flow: 'website' as const,
  expectedSellingPartnerId: null,
  customerId: 'cust-1',
  scope: 'NA' as const,
  marketplace: 'US',
  createdAt: T0,
  expiresAt: new Date(T0.getTime() + 600_000),
};
const DEADLINE = new Date(T0.getTime() + 120_000);
const ACCEPTANCE = {
  stateHash: HASH,
  now: T0,
  sellingPartnerId: 'APARTNER1',
  codeHash: 'c'.repeat(64),
  exchangeDeadline: DEADLINE,
  customerId: 'cust-1',
  scope: 'NA' as const,
  encryptedMwsAuthToken: 'v1:k1:mws',
  encryptedCode: 'v1:k1:code',
};
const LOGIN_START = {
  sellingPartnerId: 'APARTNER1',
  scope: undefined,
  marketplaces: ['US', 'DE', 'JP'],
  defaultMarketplaces: { NA: 'US', EU: 'UK', JP: 'JP', AU: 'AU', SG: 'SG' },
  stateHash: HASH,
  browserBindingHash: 'b'.repeat(64),
  createdAt: T0,
  expiresAt: new Date(T0.getTime() + 600_000),
};
const PURGE = { olderThan: T0, now: T0, limit: 500 };
const SUMMARY_ROW = {
  customer_id: 'cust-1',
  scope: 'NA',
  region: 'NA',
  marketplace: 'US',
  selling_partner_id: 'APARTNER1',
  status: 'authorized',
  last_error: null,
  auth_requested_date: T0,
  auth_granted_date: T0,
  lwa_refresh_token_date: T0,
  revoked_at: null,
  updated_at: T0,
  has_refresh_token: true,
};
/** The facts the ops view is read from: the row and its last started attempt, as stored. */
const STATUS_FACTS_ROW = {
  customer_id: 'cust-1',
  scope: 'NA',
  region: 'NA',
  marketplace: 'US',
  selling_partner_id: 'APARTNER1',
  status: 'authorized',
  auth_requested_date: T0,
  auth_granted_date: T0,
  revoked_at: null,
  has_refresh_token: true,
  last_error: null,
  last_attempt_at: T0,
  last_attempt_outcome: 'succeeded',
  last_attempt_reason: null,
  last_attempt_expires_at: T0,
  last_attempt_consumed_at: T0,
  last_attempt_exchange_deadline: DEADLINE,
};
const EVENT_ROW = {
  event_id: '9',
  event_type: 'authorization.granted',
  customer_id: 'cust-1',
  scope: 'NA',
  region: 'NA',
  selling_partner_id: 'APARTNER1',
  occurred_at: T0,
  data: '{"marketplace":"US"}',
  delivery_state: 'pending',
  delivery_attempts: 0,
  next_attempt_at: null,
  delivered_at: null,
  last_delivery_error: null,
};
const REVOKED = { reason: 'authorization_revoked', lwaError: 'invalid_grant', lwaErrorDescription: 'refused' };
/** A refresh token's keyed fingerprint as TokenCipher spells it (`<kid>:` and 43 base64url characters). */
const FINGERPRINT = `k1:${'F'.repeat(43)}`;
/** An incident row as service_incidents holds it. */
const INCIDENT_ROW = { kind: 'lwa_client_rejected', opened_at: T0, last_seen_at: T0, ended_at: null, seen_count: 2, detail: 'invalid_client' };

/**
 * Every CredentialStore method (close excepted: it makes no round trip), called once with valid arguments and a
 * canned answer, and what it must return from that answer. `via`: an operation is one EXEC of its stored procedure
 * (`execute`), a statement one parameterized query.
 */
interface Case {
  method: Exclude<keyof CredentialStore, 'close' | 'isTransientError'>;
  /** How the result is read, as a sentence fragment for the test name. */
  mapping: string;
  answer: Answer;
  call: (store: CredentialStore) => Promise<unknown>;
  expected: unknown;
  via: 'execute' | 'query';
}

const CASES: Case[] = [
  {
    method: 'readAccessTokenSource',
    mapping: 'maps the joined row to the credential and its shared token row',
    answer: {
      recordset: [
        {
          ...SUMMARY_ROW,
          lwa_refresh_token: 'v1:k1:t',
          spapi_oauth_code: null,
          mws_auth_token: null,
          t_region: 'NA',
          t_generation: 'authorized|APARTNER1|abc',
          t_access_token: 'v1:k1:a',
          t_expires_at: T0,
          t_refreshed_at: T0,
          t_lease_owner: null,
          t_lease_until: null,
        },
      ],
    },
    call: (s) => s.readAccessTokenSource('cust-1', 'NA'),
    expected: {
      credential: expect.objectContaining({ customerId: 'cust-1', status: 'authorized', lwaRefreshToken: 'v1:k1:t' }),
      shared: { generation: 'authorized|APARTNER1|abc', accessToken: 'v1:k1:a', expiresAt: T0, refreshedAt: T0, leaseOwner: null, leaseUntil: null },
    },
    via: 'query',
  },
  {
    method: 'claimAccessTokenLease',
    mapping: 'is true when the batch answers claimed = 1',
    answer: { recordset: [{ claimed: 1 }] },
    call: (s) => s.claimAccessTokenLease({ customerId: 'cust-1', scope: 'NA', owner: 'p1-abc.1', now: T0, until: DEADLINE }),
    expected: true,
    via: 'execute',
  },
  {
    method: 'storeSharedAccessToken',
    mapping: 'is true when the procedure answers changed = 1',
    answer: { recordset: [{ changed: 1 }] },
    call: (s) =>
      s.storeSharedAccessToken({
        customerId: 'cust-1',
        scope: 'NA',
        owner: 'p1-abc.1',
        generation: 'authorized|APARTNER1|abc',
        sellingPartnerId: 'APARTNER1',
        expectedRefreshToken: 'v1:k1:t',
        accessToken: 'v1:k1:a',
        expiresAt: DEADLINE,
        now: T0,
      }),
    expected: true,
    via: 'execute',
  },
  {
    method: 'releaseAccessTokenLease',
    mapping: 'resolves once the batch ran',
    answer: { rowsAffected: [1] },
    call: (s) => s.releaseAccessTokenLease({ customerId: 'cust-1', scope: 'NA', owner: 'p1-abc.1' }),
    expected: undefined,
    via: 'query',
  },
  {
    method: 'startAuthorization',
    mapping: "answers the batch's outcome 'started'",
    answer: { recordset: [{ outcome: 'started' }] },
    call: (s) => s.startAuthorization(NEW_ATTEMPT),
    expected: 'started',
    via: 'execute',
  },
  {
    method: 'findAttemptByStateHash',
    mapping: 'maps the row to an attempt record (BIGINT id read as a number)',
    answer: { recordset: [ATTEMPT_ROW] },
    call: (s) => s.findAttemptByStateHash(HASH),
    expected: expect.objectContaining({ attemptId: 7, stateHash: HASH, flow: 'website', createdAt: T0, outcome: 'pending' }),
    via: 'query',
  },
  {
    method: 'consumeAttempt',
    mapping: 'is true when the conditional UPDATE changed one row',
    answer: { rowsAffected: [1] },
    call: (s) => s.consumeAttempt({ stateHash: HASH, now: T0, sellingPartnerId: 'APARTNER1', codeHash: 'c'.repeat(64), exchangeDeadline: DEADLINE }),
    expected: true,
    via: 'query',
  },
  {
    method: 'acceptCallback',
    mapping: "answers partner_changed with the linked seller the batch read",
    answer: { recordset: [{ outcome: 'partner_changed', linked_selling_partner_id: 'APARTNER9' }] },
    call: (s) => s.acceptCallback(ACCEPTANCE),
    expected: { kind: 'partner_changed', linked: 'APARTNER9' },
    via: 'execute',
  },
  {
    method: 'startLoginUriAttempt',
    mapping: 'answers started with the customer, scope and marketplace the batch chose',
    answer: { recordset: [{ outcome: 'started', customer_id: 'cust-1', scope: 'AU', marketplace: 'AU' }] },
    call: (s) => s.startLoginUriAttempt(LOGIN_START),
    expected: { kind: 'started', customerId: 'cust-1', scope: 'AU', marketplace: 'AU' },
    via: 'execute',
  },
  {
    method: 'recordCallback',
    mapping: "answers the batch's outcome 'partner_conflict'",
    answer: { recordset: [{ outcome: 'partner_conflict' }] },
    call: (s) =>
      s.recordCallback({
        customerId: 'cust-1',
        scope: 'NA',
        sellingPartnerId: 'APARTNER1',
        encryptedMwsAuthToken: 'v1:k1:mws',
        encryptedCode: 'v1:k1:code',
        now: T0,
      }),
    expected: 'partner_conflict',
    via: 'execute',
  },
  {
    method: 'completeAuthorization',
    mapping: "answers the batch's outcome 'partner_conflict'",
    answer: { recordset: [{ outcome: 'partner_conflict' }] },
    call: (s) =>
      s.completeAuthorization({
        attemptId: 7,
        customerId: 'cust-1',
        scope: 'NA',
        marketplace: 'US',
        sellingPartnerId: 'APARTNER1',
        encryptedRefreshToken: 'v1:k1:token',
        refreshTokenFingerprint: FINGERPRINT,
        sharedAccessToken: { accessToken: 'v1:k1:access', generation: 'authorized|APARTNER1|abc', expiresAt: DEADLINE },
        now: T0,
      }),
    expected: 'partner_conflict',
    via: 'execute',
  },
  {
    method: 'failAuthorization',
    mapping: 'resolves once the batch ran',
    answer: { rowsAffected: [1, 1] },
    call: (s) => s.failAuthorization({ attemptId: 7, customerId: 'cust-1', scope: 'NA', failure: { reason: 'code_rejected' }, now: T0 }),
    expected: undefined,
    via: 'execute',
  },
  {
    method: 'recordRefusedCallback',
    mapping: 'is true when the batch answers recorded = 1',
    answer: { recordset: [{ recorded: 1 }] },
    call: (s) => s.recordRefusedCallback({ related: RELATED, sellingPartnerId: 'AOTHER1', reason: 'browser_mismatch', now: T0 }),
    expected: true,
    via: 'execute',
  },
  {
    method: 'unlinkCredential',
    mapping: 'answers unlinked with the previous status and seller the batch read',
    answer: { recordset: [{ previous_status: 'authorized', previous_selling_partner_id: 'APARTNER1' }] },
    call: (s) => s.unlinkCredential({ customerId: 'cust-1', scope: 'NA', now: T0 }),
    expected: { kind: 'unlinked', previousSellingPartnerId: 'APARTNER1', previousStatus: 'authorized' },
    via: 'execute',
  },
  {
    method: 'purgeAttempts',
    mapping: 'answers how many rows the DELETE removed',
    answer: { rowsAffected: [3] },
    call: (s) => s.purgeAttempts({ ...PURGE, dryRun: false }),
    expected: 3,
    via: 'query',
  },
  {
    method: 'markRevoked',
    mapping: 'is true when the batch answers revoked = 1',
    answer: { recordset: [{ revoked: 1 }] },
    call: (s) => s.markRevoked({ customerId: 'cust-1', scope: 'NA', expectedRefreshToken: 'v1:k1:token', failure: REVOKED, now: T0 }),
    expected: true,
    via: 'execute',
  },
  {
    method: 'restoreRevoked',
    mapping: 'is true when the batch answers restored = 1',
    answer: { recordset: [{ restored: 1 }] },
    call: (s) => s.restoreRevoked({ customerId: 'cust-1', scope: 'JP', expectedRefreshToken: 'v1:k1:token', now: T0 }),
    expected: true,
    via: 'execute',
  },
  {
    method: 'listSecretEnvelopes',
    mapping: 'maps each row to its envelopes',
    answer: {
      recordset: [
        { customer_id: 'cust-1', scope: 'SG', region: 'FE', lwa_refresh_token: 'v1:k1:t', refresh_token_fingerprint: FINGERPRINT, spapi_oauth_code: null, mws_auth_token: 'amzn.mws.1' },
      ],
    },
    call: (s) => s.listSecretEnvelopes(),
    expected: [{ customerId: 'cust-1', scope: 'SG', region: 'FE', lwaRefreshToken: 'v1:k1:t', refreshTokenFingerprint: FINGERPRINT, spapiOauthCode: null, mwsAuthToken: 'amzn.mws.1' }],
    via: 'query',
  },
  {
    method: 'replaceEnvelope',
    mapping: 'is true when the compare-and-swap changed one row',
    answer: { rowsAffected: [1] },
    call: (s) => s.replaceEnvelope({ customerId: 'cust-1', scope: 'NA', column: 'lwa_refresh_token', expected: 'v1:k1:t', replacement: 'v1:k2:t' }),
    expected: true,
    via: 'query',
  },
  {
    method: 'replaceFingerprint',
    mapping: "answers the batch's outcome 'duplicate'",
    answer: { recordset: [{ outcome: 'duplicate' }] },
    call: (s) => s.replaceFingerprint({ customerId: 'cust-1', scope: 'NA', expectedRefreshToken: 'v1:k1:t', fingerprint: FINGERPRINT }),
    expected: 'duplicate',
    via: 'execute',
  },
  {
    method: 'listCredentials',
    mapping: 'maps each row to a summary without secrets',
    answer: { recordset: [SUMMARY_ROW] },
    call: (s) => s.listCredentials(),
    expected: [expect.objectContaining({ customerId: 'cust-1', status: 'authorized', hasRefreshToken: true, updatedAt: T0 })],
    via: 'query',
  },
  {
    method: 'listCredentialsFor',
    mapping: 'maps each row to a summary without secrets',
    answer: { recordset: [SUMMARY_ROW] },
    call: (s) => s.listCredentialsFor({ sellingPartnerId: 'APARTNER1' }),
    expected: [expect.objectContaining({ customerId: 'cust-1', sellingPartnerId: 'APARTNER1' })],
    via: 'query',
  },
  {
    method: 'findCredential',
    mapping: 'maps the row to a summary with its envelopes',
    answer: { recordset: [{ ...SUMMARY_ROW, lwa_refresh_token: 'v1:k1:t', spapi_oauth_code: null, mws_auth_token: null }] },
    call: (s) => s.findCredential('cust-1', 'NA'),
    expected: expect.objectContaining({ customerId: 'cust-1', lwaRefreshToken: 'v1:k1:t', spapiOauthCode: null, mwsAuthToken: null }),
    via: 'query',
  },
  {
    method: 'listAttempts',
    mapping: 'maps each row to an attempt record',
    answer: { recordset: [ATTEMPT_ROW] },
    call: (s) => s.listAttempts({ customerId: 'cust-1' }),
    expected: [expect.objectContaining({ attemptId: 7, customerId: 'cust-1' })],
    via: 'query',
  },
  {
    method: 'listCredentialStatus',
    mapping: "reads each row's facts at the caller's clock: deadline, days left, last outcome",
    answer: { recordset: [STATUS_FACTS_ROW] },
    call: (s) => s.listCredentialStatus({ customerId: 'cust-1' }, new Date(T0.getTime() + 86_400_000)),
    expected: [expect.objectContaining({ customerId: 'cust-1', reauthorizeBy: new Date(T0.getTime() + 365 * 86_400_000), daysLeft: 364, lastAttemptOutcome: 'succeeded' })],
    via: 'query',
  },
  {
    method: 'listRecentAttempts',
    mapping: 'maps each row to an attempt record',
    answer: { recordset: [ATTEMPT_ROW] },
    call: (s) => s.listRecentAttempts({ since: T0, customerId: 'cust-1', limit: 5 }),
    expected: [expect.objectContaining({ attemptId: 7 })],
    via: 'query',
  },
  {
    method: 'checkHealth',
    mapping: 'answers the write error, the schema and the sampled envelopes from its one result set',
    answer: {
      recordset: [
        { write_error: null, schema_version: REQUIRED_MIGRATION, schema_present: REQUIRED_MIGRATIONS.length, procedures_present: 1, customer_id: 'cust-1', region: 'EU', lwa_refresh_token: 'v1:k1:x' },
        { write_error: null, schema_version: REQUIRED_MIGRATION, schema_present: REQUIRED_MIGRATIONS.length, procedures_present: 1, customer_id: 'cust-2', region: 'NA', lwa_refresh_token: 'v1:k1:y' },
      ],
    },
    call: (s) => s.checkHealth({ now: T0, sampleSize: 5 }),
    expected: {
      // The stand-in answers one result set: no incidents table read (the second set is the incidents).
      incidents: [],
      writeRefused: undefined,
      schemaBehind: undefined,
      samples: [
        { customerId: 'cust-1', region: 'EU', envelope: 'v1:k1:x' },
        { customerId: 'cust-2', region: 'NA', envelope: 'v1:k1:y' },
      ],
    },
    via: 'query',
  },
  {
    method: 'claimDueEvents',
    mapping: 'maps each row the UPDATE handed back (OUTPUT) to an event record',
    answer: { recordset: [EVENT_ROW] },
    call: (s) => s.claimDueEvents({ now: T0, leaseUntil: new Date(T0.getTime() + 120_000), limit: 50 }),
    expected: [expect.objectContaining({ eventId: 9, type: 'authorization.granted', customerId: 'cust-1', deliveryState: 'pending' })],
    via: 'query',
  },
  {
    method: 'recordDelivery',
    mapping: 'resolves once the UPDATE ran',
    answer: { rowsAffected: [1] },
    call: (s) => s.recordDelivery({ eventId: 9, outcome: 'retry', now: T0, nextAttemptAt: new Date(T0.getTime() + 30_000), error: 'HTTP 500' }),
    expected: undefined,
    via: 'query',
  },
  {
    method: 'purgeEvents',
    mapping: 'answers how many rows the DELETE removed',
    answer: { rowsAffected: [4] },
    call: (s) => s.purgeEvents({ olderThan: T0, limit: 1000, dryRun: false }),
    expected: 4,
    via: 'query',
  },
  {
    method: 'listEvents',
    mapping: 'maps each row to an event record',
    answer: { recordset: [EVENT_ROW] },
    call: (s) => s.listEvents({ customerId: 'cust-1', afterEventId: 3, limit: 10 }),
    expected: [expect.objectContaining({ eventId: 9, sellingPartnerId: 'APARTNER1', occurredAt: T0, data: '{"marketplace":"US"}' })],
    via: 'query',
  },
  {
    method: 'importRefreshToken',
    mapping: "answers the batch's outcome 'partner_changed'",
    answer: { recordset: [{ outcome: 'partner_changed' }] },
    call: (s) =>
      s.importRefreshToken({
        customerId: 'cust-1',
        scope: 'NA',
        marketplace: 'US',
        sellingPartnerId: 'APARTNER1',
        encryptedRefreshToken: 'v1:k1:token',
        refreshTokenFingerprint: FINGERPRINT,
        fingerprints: [`k0:${'E'.repeat(43)}`, FINGERPRINT],
        now: T0,
      }),
    expected: 'partner_changed',
    via: 'execute',
  },
  {
    method: 'claimCredentialCheck',
    mapping: 'is true when the batch answers claimed = 1',
    answer: { recordset: [{ claimed: 1 }] },
    call: (s) => s.claimCredentialCheck({ customerId: 'cust-1', scope: 'NA', now: T0, leaseUntil: new Date(T0.getTime() + 600_000), runStartedAt: T0 }),
    expected: true,
    via: 'execute',
  },
  {
    method: 'recordCredentialCheck',
    mapping: 'resolves once the batch ran',
    answer: { rowsAffected: [1, 1] },
    call: (s) =>
      s.recordCredentialCheck({
        customerId: 'cust-1',
        scope: 'EU',
        now: T0,
        outcome: 'region_mismatch',
        error: null,
        participation: { marketplaceIds: ['ATVPDKIKX0DER'], countryCodes: ['US'], storeName: 'Store' },
        flagEvent: { type: 'authorization.region_mismatch', customerId: 'cust-1', scope: 'EU', sellingPartnerId: 'APARTNER1', occurredAt: T0, data: { marketplace: 'DE' } },
      }),
    expected: undefined,
    via: 'execute',
  },
  {
    method: 'recordDeadlineReminder',
    mapping: 'is true when the batch answers sent = 1',
    answer: { recordset: [{ sent: 1 }] },
    call: (s) =>
      s.recordDeadlineReminder({
        customerId: 'cust-1',
        scope: 'NA',
        grantedAt: T0,
        threshold: 30,
        event: { type: 'authorization.expiring', customerId: 'cust-1', scope: 'NA', sellingPartnerId: 'APARTNER1', occurredAt: T0, data: { days_left: 29 } },
      }),
    expected: true,
    via: 'execute',
  },
  {
    method: 'listCredentialChecks',
    mapping: 'maps each row to a check record, lists split',
    answer: { recordset: [{ customer_id: 'cust-1', scope: 'NA', region: 'NA', lease_until: null, checked_at: T0, check_outcome: 'verified', check_error: null, verified_at: T0, marketplace_ids: 'ATVPDKIKX0DER,A2EUQ1WTGCTBG2', country_codes: 'US,CA', store_name: 'Store', flag: null, reminded_threshold: null, reminded_for_grant: null }] },
    call: (s) => s.listCredentialChecks({ customerId: 'cust-1' }),
    expected: [expect.objectContaining({ customerId: 'cust-1', checkOutcome: 'verified', countryCodes: ['US', 'CA'], verifiedAt: T0 })],
    via: 'query',
  },
  {
    method: 'recordIncident',
    mapping: 'is true when the batch answers opened = 1',
    answer: { recordset: [{ opened: 1 }] },
    call: (s) => s.recordIncident({ kind: 'lwa_client_rejected', detail: 'invalid_client: Client authentication failed', now: T0 }),
    expected: true,
    via: 'execute',
  },
  {
    method: 'endIncident',
    mapping: 'is false when the batch answers ended = 0',
    answer: { recordset: [{ ended: 0 }] },
    call: (s) => s.endIncident({ kind: 'spapi_denied_for_all', now: T0 }),
    expected: false,
    via: 'execute',
  },
  {
    method: 'listIncidents',
    mapping: 'maps each row to an incident record',
    answer: { recordset: [INCIDENT_ROW] },
    call: (s) => s.listIncidents(),
    expected: [{ kind: 'lwa_client_rejected', openedAt: T0, lastSeenAt: T0, endedAt: null, seenCount: 2, detail: 'invalid_client' }],
    via: 'query',
  },
  {
    method: 'ping',
    mapping: 'resolves once the server answered',
    answer: { recordset: [{ ok: 1 }] },
    call: (s) => s.ping(),
    expected: undefined,
    via: 'query',
  },
];


async function sentBy(c: Case): Promise<{ pool: RecordingPool; result: unknown }> {
  const { store, pool } = storeWith(c.answer);
  const result = await c.call(store);
  return { pool, result };
}

describe('the SQL Server store: one small request per method', () => {
  it('has a case below for every method of the store (close makes no round trip)', () => {
    const methods = Object.getOwnPropertyNames(SqlStore.prototype).filter((name) => !['constructor', 'close', 'isTransientError'].includes(name));
    expect(methods.sort()).toEqual(CASES.map((c) => c.method).sort());
  });

  describe.each(CASES)('$method', (c) => {
    it(c.via === 'execute' ? 'sends exactly one EXEC of its stored procedure, and nothing else' : 'sends exactly one parameterized query, and nothing else', async () => {
      const { pool } = await sentBy(c);
      expect(pool.requests).toBe(1);
      expect(pool.sent.map((s) => s.via)).toEqual([c.via]);
      if (c.via === 'execute') expect(pool.sent[0]?.text).toMatch(/^\[dbo\]\.\[spapi_[a-z_]+_[0-9a-f]{8}\]$/);
    });

    it('fits one TDS packet, and carries every value as a typed input, none in the text', async () => {
      const { pool } = await sentBy(c);
      const sent = pool.sent[0];
      if (sent === undefined) throw new Error('nothing sent');
      expect(wireBytes(sent)).toBeLessThanOrEqual(TDS_PACKET);
      // Data (ids, envelopes, hashes); a closed word such as 'pending' may well stand in the SQL as a literal.
      for (const { value } of sent.inputs.values()) if (typeof value === 'string' && /[^a-z_]/.test(value)) expect(sent.text).not.toContain(value);
    });

    it(`${c.mapping}`, async () => {
      const { result } = await sentBy(c);
      expect(result).toEqual(c.expected);
    });
  });
});

describe("the SQL Server store: the flow's steps stay within one packet with the longest ids and tokens of 1,000 bytes", () => {
  // Amazon's tokens run to about 400 characters (LWA documents up to 2048 bytes): 1,000-byte ones, sealed with a
  // 32-character key id, leave a margin. A longer request still goes out at once: the app's sockets do not wait on
  // Nagle's algorithm (test/contract/sqlServerNoDelay.test.ts).
  const kid = 'k'.repeat(32);
  const ring = parseKeyRing(`${kid}:${Buffer.alloc(32, 7).toString('base64')}`);
  if (!ring.ok) throw new Error(ring.problem);
  const cipher = new TokenCipher(ring.keys);
  const customerId = 'c'.repeat(LIMITS.customerId);
  const longest = cipher.encrypt('A'.repeat(1000), { column: 'lwa_refresh_token', customerId, region: 'EU' });
  const accessToken = cipher.encrypt('A'.repeat(1000), { column: 'access_token', customerId, region: 'EU' });

  it.each<readonly [string, (s: CredentialStore) => Promise<unknown>, Answer]>([
    ['startAuthorization', (s) => s.startAuthorization({ ...NEW_ATTEMPT, customerId }), { recordset: [{ outcome: 'started' }] }],
    ['acceptCallback', (s) => s.acceptCallback({ ...ACCEPTANCE, customerId, encryptedMwsAuthToken: 'v'.repeat(LIMITS.encryptedMwsAuthToken), encryptedCode: 'v'.repeat(LIMITS.encryptedCode) }), { recordset: [{ outcome: 'consumed' }] }],
    [
      'completeAuthorization',
      // The refresh token, its fingerprint and the access token the exchange returned, seeded for the fleet with the
      // generation the flow computes (credentialGeneration: its longest, with the longest seller id).
      (s) =>
        s.completeAuthorization({
          attemptId: 7,
          customerId,
          scope: 'EU',
          marketplace: 'DE',
          sellingPartnerId: 'A'.repeat(LIMITS.sellingPartnerId),
          encryptedRefreshToken: longest,
          refreshTokenFingerprint: cipher.fingerprint('A'.repeat(1000)),
          sharedAccessToken: {
            accessToken,
            generation: credentialGeneration({ status: 'authorized', sellingPartnerId: 'A'.repeat(LIMITS.sellingPartnerId), lwaRefreshToken: longest }),
            expiresAt: DEADLINE,
          },
          now: T0,
        }),
      { recordset: [{ outcome: 'stored' }] },
    ],
    [
      'importRefreshToken',
      (s) =>
        s.importRefreshToken({
          customerId,
          scope: 'EU',
          marketplace: 'DE',
          sellingPartnerId: 'A'.repeat(LIMITS.sellingPartnerId),
          encryptedRefreshToken: longest,
          refreshTokenFingerprint: cipher.fingerprint('A'.repeat(1000)),
          fingerprints: cipher.fingerprints('A'.repeat(1000)),
          now: T0,
        }),
      { recordset: [{ outcome: 'stored' }] },
    ],
    ['restoreRevoked', (s) => s.restoreRevoked({ customerId, scope: 'EU', expectedRefreshToken: longest, now: T0 }), { recordset: [{ restored: 1 }] }],
    ['readAccessTokenSource', (s) => s.readAccessTokenSource(customerId, 'EU'), { recordset: [] }],
    [
      'storeSharedAccessToken',
      (s) =>
        s.storeSharedAccessToken({
          customerId,
          scope: 'EU',
          owner: 'o'.repeat(LIMITS.leaseOwner),
          generation: 'g'.repeat(LIMITS.credentialGeneration),
          sellingPartnerId: 'A'.repeat(LIMITS.sellingPartnerId),
          expectedRefreshToken: longest,
          accessToken,
          expiresAt: DEADLINE,
          now: T0,
        }),
      { recordset: [{ changed: 1 }] },
    ],
    ['checkHealth', (s) => s.checkHealth({ now: T0, sampleSize: 20 }), { recordset: [] }],
  ])('%s', async (_name, call, answer) => {
    const { store, pool } = storeWith(answer);
    await call(store);
    expect(pool.sent).toHaveLength(1);
    expect(wireBytes(pool.sent[0] as Sent)).toBeLessThanOrEqual(TDS_PACKET);
  });
});

describe('the SQL Server store: what the procedures answer', () => {
  it('calls the procedure of the definitions db:migrate creates', async () => {
    const { store, pool } = storeWith({ recordset: [{ outcome: 'started' }] });
    await store.startAuthorization(NEW_ATTEMPT);
    expect(pool.sent[0]?.text).toBe(`[dbo].[${procedureName(operations.startAuthorization)}]`);
  });

  it("recordCallback answers 'recorded' when the procedure does", async () => {
    const { store } = storeWith({ recordset: [{ outcome: 'recorded' }] });
    expect(
      await store.recordCallback({ customerId: 'c', scope: 'EU', sellingPartnerId: 'AP', encryptedMwsAuthToken: undefined, encryptedCode: 'v1:x', now: T0 }),
    ).toBe('recorded');
  });

  it("completeAuthorization answers 'stored' when the procedure does", async () => {
    const { store } = storeWith({ recordset: [{ outcome: 'stored' }] });
    const input = { attemptId: 1, customerId: 'c', scope: 'EU' as const, marketplace: 'DE', sellingPartnerId: 'AP', encryptedRefreshToken: 'v1:t', refreshTokenFingerprint: FINGERPRINT, sharedAccessToken: undefined, now: T0 };
    expect(await store.completeAuthorization(input)).toBe('stored');
  });

  it('completeAuthorization passes the region of its scope, the fingerprint, and the seed (NULL without one) as typed inputs', async () => {
    const { store, pool } = storeWith({ recordset: [{ outcome: 'stored' }] });
    const input = { attemptId: 1, customerId: 'c', scope: 'SG' as const, marketplace: 'SG', sellingPartnerId: 'AP', encryptedRefreshToken: 'v1:t', refreshTokenFingerprint: FINGERPRINT, now: T0 };
    await store.completeAuthorization({ ...input, sharedAccessToken: { accessToken: 'v1:k1:a', generation: 'authorized|AP|abc', expiresAt: DEADLINE } });
    await store.completeAuthorization({ ...input, sharedAccessToken: undefined });
    const value = (i: number, name: string): unknown => pool.sent[i]?.inputs.get(name)?.value;
    expect(['scope', 'region', 'refreshTokenFingerprint', 'accessToken', 'generation', 'accessTokenExpiresAt'].map((name) => value(0, name))).toEqual([
      'SG',
      'FE',
      FINGERPRINT,
      'v1:k1:a',
      'authorized|AP|abc',
      DEADLINE,
    ]);
    expect(['accessToken', 'generation', 'accessTokenExpiresAt'].map((name) => value(1, name))).toEqual([null, null, null]);
  });

  it("importRefreshToken answers 'token_in_use' when the procedure does, and passes the fingerprints as one comma-framed input", async () => {
    const { store, pool } = storeWith({ recordset: [{ outcome: 'token_in_use' }] });
    const older = `k0:${'E'.repeat(43)}`;
    const input = { customerId: 'c', scope: 'JP' as const, marketplace: 'JP', sellingPartnerId: 'AP', encryptedRefreshToken: 'v1:t', refreshTokenFingerprint: FINGERPRINT, fingerprints: [older, FINGERPRINT], now: T0 };
    expect(await store.importRefreshToken(input)).toBe('token_in_use');
    expect(pool.sent[0]?.inputs.get('fingerprints')?.value).toBe(`,${FINGERPRINT},${older},${FINGERPRINT},`);
    expect(pool.sent[0]?.inputs.get('region')?.value).toBe('FE');
  });

  it("replaceFingerprint answers 'replaced' and 'changed' as the procedure does", async () => {
    const input = { customerId: 'c', scope: 'NA' as const, expectedRefreshToken: 'v1:t', fingerprint: FINGERPRINT };
    expect(await storeWith({ recordset: [{ outcome: 'replaced' }] }).store.replaceFingerprint(input)).toBe('replaced');
    expect(await storeWith({ recordset: [{ outcome: 'changed' }] }).store.replaceFingerprint(input)).toBe('changed');
  });

  it('restoreRevoked is false when the procedure answers restored = 0', async () => {
    const { store } = storeWith({ recordset: [{ restored: 0 }] });
    expect(await store.restoreRevoked({ customerId: 'c', scope: 'AU', expectedRefreshToken: 'v1:t', now: T0 })).toBe(false);
  });

  it('recordIncident is false when the procedure answers opened = 0 (one was open, or another instance opened it)', async () => {
    const { store } = storeWith({ recordset: [{ opened: 0 }] });
    expect(await store.recordIncident({ kind: 'spapi_denied_for_all', detail: null, now: T0 })).toBe(false);
  });

  it('endIncident is true when the procedure answers ended = 1', async () => {
    const { store } = storeWith({ recordset: [{ ended: 1 }] });
    expect(await store.endIncident({ kind: 'lwa_client_rejected', now: T0 })).toBe(true);
  });

  it('checkHealth maps the incidents of its second result set', async () => {
    const first = [{ write_error: null, schema_version: REQUIRED_MIGRATION, schema_present: REQUIRED_MIGRATIONS.length, procedures_present: 1, customer_id: null, region: null, lwa_refresh_token: null }];
    const { store, pool } = storeWith({ recordset: first, recordsets: [first, [INCIDENT_ROW, { ...INCIDENT_ROW, kind: 'spapi_denied_for_all', ended_at: DEADLINE, seen_count: 1, detail: null }]] });
    const health = await store.checkHealth({ now: T0, sampleSize: 5 });
    expect(health.incidents).toEqual([
      { kind: 'lwa_client_rejected', openedAt: T0, lastSeenAt: T0, endedAt: null, seenCount: 2, detail: 'invalid_client' },
      { kind: 'spapi_denied_for_all', openedAt: T0, lastSeenAt: T0, endedAt: DEADLINE, seenCount: 1, detail: null },
    ]);
    expect(health.schemaBehind).toBeUndefined();
    expect(pool.requests).toBe(1);
  });

  it('completeAuthorization refuses an outcome it does not know instead of guessing', async () => {
    const { store } = storeWith({ recordset: [{ outcome: 'recorded' }] });
    const input = { attemptId: 1, customerId: 'c', scope: 'EU' as const, marketplace: 'DE', sellingPartnerId: 'AP', encryptedRefreshToken: 'v1:t', refreshTokenFingerprint: FINGERPRINT, sharedAccessToken: undefined, now: T0 };
    await expect(store.completeAuthorization(input)).rejects.toThrow(/unexpected outcome/);
  });

  it('markRevoked is false when the procedure answers revoked = 0', async () => {
    const { store } = storeWith({ recordset: [{ revoked: 0 }] });
    expect(await store.markRevoked({ customerId: 'c', scope: 'JP', expectedRefreshToken: 'v1:t', failure: REVOKED, now: T0 })).toBe(false);
  });

  it('consumeAttempt is false when the conditional UPDATE changed no row', async () => {
    const { store } = storeWith({ rowsAffected: [0] });
    expect(await store.consumeAttempt({ stateHash: HASH, now: T0, sellingPartnerId: 'AP', codeHash: HASH, exchangeDeadline: DEADLINE })).toBe(false);
  });

  it('replaceEnvelope is false when the compare-and-swap changed no row', async () => {
    const { store } = storeWith({ rowsAffected: [0] });
    expect(await store.replaceEnvelope({ customerId: 'c', scope: 'NA', column: 'spapi_oauth_code', expected: 'v1:a', replacement: 'v1:b' })).toBe(false);
  });

  it("startAuthorization answers 'too_many_open' when the procedure does", async () => {
    const { store } = storeWith({ recordset: [{ outcome: 'too_many_open' }] });
    expect(await store.startAuthorization(NEW_ATTEMPT)).toBe('too_many_open');
  });

  it('recordRefusedCallback is false when the procedure answers recorded = 0 (the attempt had its refusals)', async () => {
    const { store } = storeWith({ recordset: [{ recorded: 0 }] });
    expect(await store.recordRefusedCallback({ related: RELATED, sellingPartnerId: undefined, reason: 'state_expired', now: T0 })).toBe(false);
  });

  it("unlinkCredential answers 'not_found' when the procedure read no row", async () => {
    const { store } = storeWith({ recordset: [] });
    expect(await store.unlinkCredential({ customerId: 'cust-9', scope: 'EU', now: T0 })).toEqual({ kind: 'not_found' });
  });

  it('unlinkCredential refuses a previous status it does not know instead of guessing', async () => {
    const { store } = storeWith({ recordset: [{ previous_status: 'archived', previous_selling_partner_id: null }] });
    await expect(store.unlinkCredential({ customerId: 'cust-1', scope: 'NA', now: T0 })).rejects.toThrow(/does not know/);
  });

  it('purgeAttempts on a dry run answers the count the query SELECTs', async () => {
    const { store } = storeWith({ recordset: [{ n: 2 }], rowsAffected: [9] });
    expect(await store.purgeAttempts({ ...PURGE, dryRun: true })).toBe(2);
  });

  it('findAttemptByStateHash maps exchange_deadline and refusal_count', async () => {
    const { store } = storeWith({ recordset: [{ ...ATTEMPT_ROW, consumed_at: T0, exchange_deadline: DEADLINE, refusal_count: 4 }] });
    expect(await store.findAttemptByStateHash(HASH)).toMatchObject({ consumedAt: T0, exchangeDeadline: DEADLINE, refusalCount: 4 });
  });

  it('replaceEnvelope on mws_auth_token is true when the compare-and-swap changed one row', async () => {
    const { store } = storeWith({ rowsAffected: [1] });
    expect(await store.replaceEnvelope({ customerId: 'c', scope: 'NA', column: 'mws_auth_token', expected: 'amzn.mws.1', replacement: 'v1:k1:m' })).toBe(true);
  });

  it('checkHealth reports a refused write and a schema behind, and no sample when no row holds a token', async () => {
    const { store } = storeWith({ recordset: [{ write_error: 'The UPDATE permission was denied', schema_version: '005_truthful_record', customer_id: null, region: null, lwa_refresh_token: null }] });
    const health = await store.checkHealth({ now: T0, sampleSize: 5 });
    expect(health.writeRefused).toBe('The UPDATE permission was denied');
    expect(health.schemaBehind).toMatch(/ends at 005_truthful_record, this code needs 010_far_east_scope: run npm run db:migrate/);
    expect(health.samples).toEqual([]);
  });

  it('checkHealth calls a schema behind when a shipped migration is missing though a newer one is recorded', async () => {
    // 010 applied before an older-numbered file (e.g. 006) was: the newest row alone would pass.
    const { store } = storeWith({
      recordset: [{ write_error: null, schema_version: REQUIRED_MIGRATION, schema_present: REQUIRED_MIGRATIONS.length - 1, procedures_present: 1, customer_id: null, region: null, lwa_refresh_token: null }],
    });
    expect((await store.checkHealth({ now: T0, sampleSize: 5 })).schemaBehind).toMatch(
      new RegExp(`lacks 1 of the ${REQUIRED_MIGRATIONS.length} migrations this code needs .*run npm run db:migrate`),
    );
  });

  it("checkHealth calls a schema behind when this code's stored procedures were not created yet", async () => {
    const { store, pool } = storeWith({ recordset: [{ write_error: null, schema_version: REQUIRED_MIGRATION, schema_present: REQUIRED_MIGRATIONS.length, procedures_present: 0 }] });
    expect((await store.checkHealth({ now: T0, sampleSize: 5 })).schemaBehind).toMatch(new RegExp(`${PROCEDURES_VERSION}.*not created yet: run npm run db:migrate`));
    expect(pool.sent[0]?.inputs.get('procedures')?.value).toBe(PROCEDURES_VERSION);
  });

  it('checkHealth counts only the migrations this code needs, passed as one comma-framed input', async () => {
    const { store, pool } = storeWith({ recordset: [{ write_error: null, schema_version: REQUIRED_MIGRATION, schema_present: REQUIRED_MIGRATIONS.length, procedures_present: 1 }] });
    expect((await store.checkHealth({ now: T0, sampleSize: 5 })).schemaBehind).toBeUndefined();
    expect(pool.sent[0]?.inputs.get('required')?.value).toBe(`,${REQUIRED_MIGRATIONS.join(',')},`);
  });

  it('checkHealth calls an empty schema_migrations behind', async () => {
    const { store } = storeWith({ recordset: [{ write_error: null, schema_version: null, customer_id: null, region: null, lwa_refresh_token: null }] });
    expect((await store.checkHealth({ now: T0, sampleSize: 5 })).schemaBehind).toMatch(/is empty or missing/);
  });

  it('a lookup value no row can hold (too long, not ASCII) answers nothing, with no round trip', async () => {
    const { store, pool } = storeWith({ recordset: [ATTEMPT_ROW], rowsAffected: [1] });
    expect(await store.findCredential('c'.repeat(LIMITS.customerId + 1), 'NA')).toBeUndefined();
    expect(await store.findAttemptByStateHash('é'.repeat(64))).toBeUndefined();
    expect(await store.listCredentialsFor({ sellingPartnerId: 'A'.repeat(LIMITS.sellingPartnerId + 1) })).toEqual([]);
    expect(await store.unlinkCredential({ customerId: 'trailing ', scope: 'NA', now: T0 })).toEqual({ kind: 'not_found' });
    expect(await store.markRevoked({ customerId: 'c', scope: 'NA', expectedRefreshToken: 'x'.repeat(LIMITS.encryptedRefreshToken + 1), failure: REVOKED, now: T0 })).toBe(false);
    expect(await store.restoreRevoked({ customerId: 'c', scope: 'JP', expectedRefreshToken: 'x'.repeat(LIMITS.encryptedRefreshToken + 1), now: T0 })).toBe(false);
    expect(await store.replaceFingerprint({ customerId: 'c'.repeat(LIMITS.customerId + 1), scope: 'NA', expectedRefreshToken: 'v1:t', fingerprint: FINGERPRINT })).toBe('changed');
    expect(pool.requests).toBe(0);
  });

  it('a value to be written that its column cannot hold is refused before any round trip, naming the column', async () => {
    const { store, pool } = storeWith({ recordset: [{ outcome: 'recorded' }] });
    const long = { customerId: 'c', scope: 'NA' as const, sellingPartnerId: 'AP', encryptedMwsAuthToken: 'm'.repeat(LIMITS.encryptedMwsAuthToken + 1), encryptedCode: 'v1:x', now: T0 };
    await expect(store.recordCallback(long)).rejects.toThrow(/mws_auth_token is longer than 1024/);
    await expect(store.recordCallback({ ...long, encryptedMwsAuthToken: undefined, encryptedCode: 'v1:é' })).rejects.toThrow(/spapi_oauth_code must be ASCII/);
    await expect(store.startAuthorization({ ...NEW_ATTEMPT, customerId: 'trailing ' })).rejects.toThrow(/customer_id ends with a space/);
    expect(pool.requests).toBe(0);
  });

  it('close closes the pool without a round trip', async () => {
    const { store, pool } = storeWith();
    await store.close();
    expect([pool.closed, pool.requests]).toEqual([1, 0]);
  });
});

/** Errors built as mssql builds them (lib/tedious/request.js handleError, lib/tedious/connection-pool.js). */
function serverError(number: number): Error {
  const inner = Object.assign(new Error(`server error ${number}`), { info: { number, state: 1, class: 13 } });
  return new sql.RequestError(inner, 'EREQUEST');
}
function driverError(kind: 'connection' | 'request', code: string, socketCode?: string): Error {
  const inner = Object.assign(new Error(`driver error ${code}`), { code }, socketCode === undefined ? {} : { cause: Object.assign(new Error('socket'), { code: socketCode }) });
  return kind === 'connection' ? new sql.ConnectionError(inner) : new sql.RequestError(inner, 'EREQUEST');
}

describe('the SQL Server store: isTransientError', () => {
  const { store, pool } = storeWith();

  it.each<readonly [string, unknown]>([
    ['a deadlock victim (1205)', serverError(1205)],
    ['a lock request timeout (1222)', serverError(1222)],
    ...[40613, 40197, 40501, 49918, 49919, 49920, 4060, 4221].map((n): readonly [string, unknown] => [`Azure SQL transient error ${n}`, serverError(n)]),
    ['a dropped socket (ConnectionError ESOCKET)', driverError('connection', 'ESOCKET', 'ECONNRESET')],
    ['a reset connection (ECONNRESET)', driverError('connection', 'ECONNRESET')],
    ['a closed pool connection (ECONNCLOSED)', new sql.ConnectionError('Connection is closed.', 'ECONNCLOSED')],
    ['a connect timeout (ConnectionError ETIMEOUT)', driverError('connection', 'ETIMEOUT')],
    ['a request timeout (RequestError ETIMEOUT)', driverError('request', 'ETIMEOUT')],
    ['a deadlock reported after other errors of the batch', Object.assign(serverError(3621), { precedingErrors: [serverError(1205)] })],
  ])('is true for %s', (_name, error) => {
    expect(store.isTransientError(error)).toBe(true);
  });

  it.each<readonly [string, unknown]>([
    ['a duplicate key (2627)', serverError(2627)],
    ['a user THROW (50001)', serverError(50001)],
    ['a failed login (ConnectionError ELOGIN)', driverError('connection', 'ELOGIN')],
    ['a cancelled request (ECANCEL)', new sql.RequestError('Canceled.', 'ECANCEL')],
    ['SQLite busy', Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })],
    ['a plain Error', new Error('boom')],
    ['a string', 'ETIMEOUT'],
    ['null', null],
  ])('is false for %s', (_name, error) => {
    expect(store.isTransientError(error)).toBe(false);
  });

  it('makes no round trip', () => {
    store.isTransientError(serverError(1205));
    expect(pool.requests).toBe(0);
  });
});
