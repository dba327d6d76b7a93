import sql from 'mssql';
import { describe, expect, it } from 'vitest';
import { statusCaseSql } from '../../src/store/sqlRules.js';
import { MAX_OPEN_ATTEMPTS, MAX_REFUSALS_PER_ATTEMPT, type AttemptRecord, type CredentialStore } from '../../src/credentials/index.js';
import { REQUIRED_MIGRATIONS, SqlServerStore } from '../../src/store/sqlServerStore.js';

/**
 * SqlServerStore against a recording stand-in for the mssql pool (no SQL Server here): every CredentialStore method
 * sends exactly ONE batch (one request, one query/batch call, no client-side transaction), with no lock hint and no
 * MERGE; methods that write several statements carry their transaction inside the T-SQL; and each method maps the
 * batch's answer (recordset / rowsAffected) to its result. What the T-SQL does on a server is the contract suite's
 * job (test/contract/sqlServer.test.ts, with MSSQL_TEST_CONNECTION_STRING).
 */

interface Answer {
  recordset?: Record<string, unknown>[];
  rowsAffected?: number[];
}

interface Sent {
  via: 'query' | 'batch';
  text: string;
  inputs: Map<string, unknown>;
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
  private readonly inputs = new Map<string, unknown>();

  constructor(
    private readonly pool: RecordingPool,
    private readonly answer: Answer,
  ) {}

  input(name: string, _type: unknown, value: unknown): this {
    this.inputs.set(name, value);
    return this;
  }

  query(text: string): Promise<unknown> {
    return this.send('query', text);
  }

  batch(text: string): Promise<unknown> {
    return this.send('batch', text);
  }

  private send(via: Sent['via'], text: string): Promise<unknown> {
    this.pool.sent.push({ via, text, inputs: this.inputs });
    const recordset = this.answer.recordset ?? [];
    return Promise.resolve({ recordset, recordsets: [recordset], rowsAffected: this.answer.rowsAffected ?? [] });
  }
}

function storeWith(answer: Answer = {}): { store: SqlServerStore; pool: RecordingPool } {
  const pool = new RecordingPool(answer);
  return { store: new SqlServerStore(pool as unknown as sql.ConnectionPool), pool };
}

const T0 = new Date('2025-03-01T10:00:00.000Z');
const HASH = 'a'.repeat(64);
const ATTEMPT_ROW = {
  attempt_id: '7',
  state_hash: HASH,
  browser_binding_hash: 'b'.repeat(64),
  flow: 'website',
  customer_id: 'cust-1',
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
  region: 'NA' as const,
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
  region: 'NA' as const,
  encryptedMwsAuthToken: 'v1:k1:mws',
  encryptedCode: 'v1:k1:code',
};
const LOGIN_START = {
  sellingPartnerId: 'APARTNER1',
  region: undefined,
  marketplaces: ['US', 'DE', 'JP'],
  defaultMarketplaces: { NA: 'US', EU: 'UK', FE: 'JP' },
  stateHash: HASH,
  browserBindingHash: 'b'.repeat(64),
  createdAt: T0,
  expiresAt: new Date(T0.getTime() + 600_000),
};
const PURGE = { olderThan: T0, now: T0, limit: 500 };
const SUMMARY_ROW = {
  customer_id: 'cust-1',
  region: 'NA',
  marketplace: 'US',
  selling_partner_id: 'APARTNER1',
  status: 'authorized',
  last_error: null,
  auth_requested_date: T0,
  auth_granted_date: T0,
  lwa_refresh_token_date: T0,
  updated_at: T0,
  has_refresh_token: true,
};
const STATUS_ROW = {
  customer_id: 'cust-1',
  region: 'NA',
  marketplace: 'US',
  selling_partner_id: 'APARTNER1',
  status: 'authorized',
  auth_requested_date: T0,
  auth_granted_date: T0,
  reauthorize_by: new Date(T0.getTime() + 365 * 86_400_000),
  days_left: 364,
  last_error: null,
  last_attempt_at: T0,
  last_attempt_outcome: 'succeeded',
  last_attempt_reason: null,
};
const EVENT_ROW = {
  event_id: '9',
  event_type: 'authorization.granted',
  customer_id: 'cust-1',
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

/**
 * Every CredentialStore method (close excepted: it makes no round trip), called once with valid arguments and a
 * canned answer, and what it must return from that answer. `transaction`: it writes several statements, so the batch
 * must hold XACT_ABORT ON, BEGIN TRANSACTION and COMMIT TRANSACTION.
 */
interface Case {
  method: Exclude<keyof CredentialStore, 'close' | 'isTransientError'>;
  /** How the result is read, as a sentence fragment for the test name. */
  mapping: string;
  answer: Answer;
  call: (store: CredentialStore) => Promise<unknown>;
  expected: unknown;
  transaction: boolean;
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
    transaction: false,
  },
  {
    method: 'claimAccessTokenLease',
    mapping: 'is true when the batch answers claimed = 1',
    answer: { recordset: [{ claimed: 1 }] },
    call: (s) => s.claimAccessTokenLease({ customerId: 'cust-1', region: 'NA', owner: 'p1-abc.1', now: T0, until: DEADLINE }),
    expected: true,
    transaction: false,
  },
  {
    method: 'storeSharedAccessToken',
    mapping: 'is true when the conditional UPDATE changed one row',
    answer: { rowsAffected: [1] },
    call: (s) =>
      s.storeSharedAccessToken({
        customerId: 'cust-1',
        region: 'NA',
        owner: 'p1-abc.1',
        generation: 'authorized|APARTNER1|abc',
        sellingPartnerId: 'APARTNER1',
        expectedRefreshToken: 'v1:k1:t',
        accessToken: 'v1:k1:a',
        expiresAt: DEADLINE,
        now: T0,
      }),
    expected: true,
    transaction: false,
  },
  {
    method: 'releaseAccessTokenLease',
    mapping: 'resolves once the batch ran',
    answer: { rowsAffected: [1] },
    call: (s) => s.releaseAccessTokenLease({ customerId: 'cust-1', region: 'NA', owner: 'p1-abc.1' }),
    expected: undefined,
    transaction: false,
  },
  {
    method: 'startAuthorization',
    mapping: "answers the batch's outcome 'started'",
    answer: { recordset: [{ outcome: 'started' }] },
    call: (s) => s.startAuthorization(NEW_ATTEMPT),
    expected: 'started',
    transaction: true,
  },
  {
    method: 'findAttemptByStateHash',
    mapping: 'maps the row to an attempt record (BIGINT id read as a number)',
    answer: { recordset: [ATTEMPT_ROW] },
    call: (s) => s.findAttemptByStateHash(HASH),
    expected: expect.objectContaining({ attemptId: 7, stateHash: HASH, flow: 'website', createdAt: T0, outcome: 'pending' }),
    transaction: false,
  },
  {
    method: 'consumeAttempt',
    mapping: 'is true when the conditional UPDATE changed one row',
    answer: { rowsAffected: [1] },
    call: (s) => s.consumeAttempt({ stateHash: HASH, now: T0, sellingPartnerId: 'APARTNER1', codeHash: 'c'.repeat(64), exchangeDeadline: DEADLINE }),
    expected: true,
    transaction: false,
  },
  {
    method: 'acceptCallback',
    mapping: "answers partner_changed with the linked seller the batch read",
    answer: { recordset: [{ outcome: 'partner_changed', linked_selling_partner_id: 'APARTNER9' }] },
    call: (s) => s.acceptCallback(ACCEPTANCE),
    expected: { kind: 'partner_changed', linked: 'APARTNER9' },
    transaction: true,
  },
  {
    method: 'startLoginUriAttempt',
    mapping: 'answers started with the customer, region and marketplace the batch chose',
    answer: { recordset: [{ outcome: 'started', customer_id: 'cust-1', region: 'EU', marketplace: 'DE' }] },
    call: (s) => s.startLoginUriAttempt(LOGIN_START),
    expected: { kind: 'started', customerId: 'cust-1', region: 'EU', marketplace: 'DE' },
    transaction: true,
  },
  {
    method: 'recordCallback',
    mapping: "answers the batch's outcome 'partner_conflict'",
    answer: { recordset: [{ outcome: 'partner_conflict' }] },
    call: (s) =>
      s.recordCallback({
        customerId: 'cust-1',
        region: 'NA',
        sellingPartnerId: 'APARTNER1',
        encryptedMwsAuthToken: 'v1:k1:mws',
        encryptedCode: 'v1:k1:code',
        now: T0,
      }),
    expected: 'partner_conflict',
    transaction: true,
  },
  {
    method: 'completeAuthorization',
    mapping: "answers the batch's outcome 'partner_conflict'",
    answer: { recordset: [{ outcome: 'partner_conflict' }] },
    call: (s) =>
      s.completeAuthorization({
        attemptId: 7,
        customerId: 'cust-1',
        region: 'NA',
        marketplace: 'US',
        sellingPartnerId: 'APARTNER1',
        encryptedRefreshToken: 'v1:k1:token',
        now: T0,
      }),
    expected: 'partner_conflict',
    transaction: true,
  },
  {
    method: 'failAuthorization',
    mapping: 'resolves once the batch ran',
    answer: { rowsAffected: [1, 1] },
    call: (s) => s.failAuthorization({ attemptId: 7, customerId: 'cust-1', region: 'NA', failure: { reason: 'code_rejected' }, now: T0 }),
    expected: undefined,
    transaction: true,
  },
  {
    method: 'recordRefusedCallback',
    mapping: 'is true when the batch answers recorded = 1',
    answer: { recordset: [{ recorded: 1 }] },
    call: (s) => s.recordRefusedCallback({ related: RELATED, sellingPartnerId: 'AOTHER1', reason: 'browser_mismatch', now: T0 }),
    expected: true,
    transaction: true,
  },
  {
    method: 'unlinkCredential',
    mapping: 'answers unlinked with the previous status and seller the batch read',
    answer: { recordset: [{ previous_status: 'authorized', previous_selling_partner_id: 'APARTNER1' }] },
    call: (s) => s.unlinkCredential({ customerId: 'cust-1', region: 'NA', now: T0 }),
    expected: { kind: 'unlinked', previousSellingPartnerId: 'APARTNER1', previousStatus: 'authorized' },
    transaction: true,
  },
  {
    method: 'purgeAttempts',
    mapping: 'answers how many rows the DELETE removed',
    answer: { rowsAffected: [3] },
    call: (s) => s.purgeAttempts({ ...PURGE, dryRun: false }),
    expected: 3,
    transaction: false,
  },
  {
    method: 'markRevoked',
    mapping: 'is true when the batch answers revoked = 1',
    answer: { recordset: [{ revoked: 1 }] },
    call: (s) => s.markRevoked({ customerId: 'cust-1', region: 'NA', expectedRefreshToken: 'v1:k1:token', failure: REVOKED, now: T0 }),
    expected: true,
    transaction: true,
  },
  {
    method: 'listSecretEnvelopes',
    mapping: 'maps each row to its envelopes',
    answer: { recordset: [{ customer_id: 'cust-1', region: 'NA', lwa_refresh_token: 'v1:k1:t', spapi_oauth_code: null, mws_auth_token: 'amzn.mws.1' }] },
    call: (s) => s.listSecretEnvelopes(),
    expected: [{ customerId: 'cust-1', region: 'NA', lwaRefreshToken: 'v1:k1:t', spapiOauthCode: null, mwsAuthToken: 'amzn.mws.1' }],
    transaction: false,
  },
  {
    method: 'replaceEnvelope',
    mapping: 'is true when the compare-and-swap changed one row',
    answer: { rowsAffected: [1] },
    call: (s) => s.replaceEnvelope({ customerId: 'cust-1', region: 'NA', column: 'lwa_refresh_token', expected: 'v1:k1:t', replacement: 'v1:k2:t' }),
    expected: true,
    transaction: false,
  },
  {
    method: 'listCredentials',
    mapping: 'maps each row to a summary without secrets',
    answer: { recordset: [SUMMARY_ROW] },
    call: (s) => s.listCredentials(),
    expected: [expect.objectContaining({ customerId: 'cust-1', status: 'authorized', hasRefreshToken: true, updatedAt: T0 })],
    transaction: false,
  },
  {
    method: 'listCredentialsFor',
    mapping: 'maps each row to a summary without secrets',
    answer: { recordset: [SUMMARY_ROW] },
    call: (s) => s.listCredentialsFor({ sellingPartnerId: 'APARTNER1' }),
    expected: [expect.objectContaining({ customerId: 'cust-1', sellingPartnerId: 'APARTNER1' })],
    transaction: false,
  },
  {
    method: 'findCredential',
    mapping: 'maps the row to a summary with its envelopes',
    answer: { recordset: [{ ...SUMMARY_ROW, lwa_refresh_token: 'v1:k1:t', spapi_oauth_code: null, mws_auth_token: null }] },
    call: (s) => s.findCredential('cust-1', 'NA'),
    expected: expect.objectContaining({ customerId: 'cust-1', lwaRefreshToken: 'v1:k1:t', spapiOauthCode: null, mwsAuthToken: null }),
    transaction: false,
  },
  {
    method: 'listAttempts',
    mapping: 'maps each row to an attempt record',
    answer: { recordset: [ATTEMPT_ROW] },
    call: (s) => s.listAttempts({ customerId: 'cust-1' }),
    expected: [expect.objectContaining({ attemptId: 7, customerId: 'cust-1' })],
    transaction: false,
  },
  {
    method: 'listCredentialStatus',
    mapping: 'maps each row to a status row',
    answer: { recordset: [STATUS_ROW] },
    call: (s) => s.listCredentialStatus({ customerId: 'cust-1', expiringWithinDays: 30 }, T0),
    expected: [expect.objectContaining({ customerId: 'cust-1', daysLeft: 364, lastAttemptOutcome: 'succeeded' })],
    transaction: false,
  },
  {
    method: 'listRecentAttempts',
    mapping: 'maps each row to an attempt record',
    answer: { recordset: [ATTEMPT_ROW] },
    call: (s) => s.listRecentAttempts({ since: T0, customerId: 'cust-1', limit: 5 }),
    expected: [expect.objectContaining({ attemptId: 7 })],
    transaction: false,
  },
  {
    method: 'checkHealth',
    mapping: 'answers the write error, the schema and the sampled envelopes from its one result set',
    answer: {
      recordset: [
        { write_error: null, schema_version: '009_service_heartbeat', schema_present: REQUIRED_MIGRATIONS.length, customer_id: 'cust-1', region: 'EU', lwa_refresh_token: 'v1:k1:x' },
        { write_error: null, schema_version: '009_service_heartbeat', schema_present: REQUIRED_MIGRATIONS.length, customer_id: 'cust-2', region: 'NA', lwa_refresh_token: 'v1:k1:y' },
      ],
    },
    call: (s) => s.checkHealth({ now: T0, sampleSize: 5 }),
    expected: {
      writeRefused: undefined,
      schemaBehind: undefined,
      samples: [
        { customerId: 'cust-1', region: 'EU', envelope: 'v1:k1:x' },
        { customerId: 'cust-2', region: 'NA', envelope: 'v1:k1:y' },
      ],
    },
    transaction: false,
  },
  {
    method: 'claimDueEvents',
    mapping: 'maps each row the UPDATE handed back (OUTPUT) to an event record',
    answer: { recordset: [EVENT_ROW] },
    call: (s) => s.claimDueEvents({ now: T0, leaseUntil: new Date(T0.getTime() + 120_000), limit: 50 }),
    expected: [expect.objectContaining({ eventId: 9, type: 'authorization.granted', customerId: 'cust-1', deliveryState: 'pending' })],
    transaction: false,
  },
  {
    method: 'recordDelivery',
    mapping: 'resolves once the UPDATE ran',
    answer: { rowsAffected: [1] },
    call: (s) => s.recordDelivery({ eventId: 9, outcome: 'retry', now: T0, nextAttemptAt: new Date(T0.getTime() + 30_000), error: 'HTTP 500' }),
    expected: undefined,
    transaction: false,
  },
  {
    method: 'purgeEvents',
    mapping: 'answers how many rows the DELETE removed',
    answer: { rowsAffected: [4] },
    call: (s) => s.purgeEvents({ olderThan: T0, limit: 1000, dryRun: false }),
    expected: 4,
    transaction: false,
  },
  {
    method: 'listEvents',
    mapping: 'maps each row to an event record',
    answer: { recordset: [EVENT_ROW] },
    call: (s) => s.listEvents({ customerId: 'cust-1', afterEventId: 3, limit: 10 }),
    expected: [expect.objectContaining({ eventId: 9, sellingPartnerId: 'APARTNER1', occurredAt: T0, data: '{"marketplace":"US"}' })],
    transaction: false,
  },
  {
    method: 'importRefreshToken',
    mapping: "answers the batch's outcome 'partner_changed'",
    answer: { recordset: [{ outcome: 'partner_changed' }] },
    call: (s) => s.importRefreshToken({ customerId: 'cust-1', region: 'NA', marketplace: 'US', sellingPartnerId: 'APARTNER1', encryptedRefreshToken: 'v1:k1:token', now: T0 }),
    expected: 'partner_changed',
    transaction: true,
  },
  {
    method: 'claimCredentialCheck',
    mapping: 'is true when the batch answers claimed = 1',
    answer: { recordset: [{ claimed: 1 }] },
    call: (s) => s.claimCredentialCheck({ customerId: 'cust-1', region: 'NA', now: T0, leaseUntil: new Date(T0.getTime() + 600_000), runStartedAt: T0 }),
    expected: true,
    transaction: true,
  },
  {
    method: 'recordCredentialCheck',
    mapping: 'resolves once the batch ran',
    answer: { rowsAffected: [1, 1] },
    call: (s) =>
      s.recordCredentialCheck({
        customerId: 'cust-1',
        region: 'EU',
        now: T0,
        outcome: 'region_mismatch',
        error: null,
        participation: { marketplaceIds: ['ATVPDKIKX0DER'], countryCodes: ['US'], storeName: 'Store' },
        flagEvent: { type: 'authorization.region_mismatch', customerId: 'cust-1', region: 'EU', sellingPartnerId: 'APARTNER1', occurredAt: T0, data: { marketplace: 'DE' } },
      }),
    expected: undefined,
    transaction: true,
  },
  {
    method: 'recordDeadlineReminder',
    mapping: 'is true when the batch answers sent = 1',
    answer: { recordset: [{ sent: 1 }] },
    call: (s) =>
      s.recordDeadlineReminder({
        customerId: 'cust-1',
        region: 'NA',
        grantedAt: T0,
        threshold: 30,
        event: { type: 'authorization.expiring', customerId: 'cust-1', region: 'NA', sellingPartnerId: 'APARTNER1', occurredAt: T0, data: { days_left: 29 } },
      }),
    expected: true,
    transaction: true,
  },
  {
    method: 'listCredentialChecks',
    mapping: 'maps each row to a check record, lists split',
    answer: { recordset: [{ customer_id: 'cust-1', region: 'NA', lease_until: null, checked_at: T0, check_outcome: 'verified', check_error: null, verified_at: T0, marketplace_ids: 'ATVPDKIKX0DER,A2EUQ1WTGCTBG2', country_codes: 'US,CA', store_name: 'Store', flag: null, reminded_threshold: null, reminded_for_grant: null }] },
    call: (s) => s.listCredentialChecks({ customerId: 'cust-1' }),
    expected: [expect.objectContaining({ customerId: 'cust-1', checkOutcome: 'verified', countryCodes: ['US', 'CA'], verifiedAt: T0 })],
    transaction: false,
  },
  {
    method: 'ping',
    mapping: 'resolves once the server answered',
    answer: { recordset: [{ ok: 1 }] },
    call: (s) => s.ping(),
    expected: undefined,
    transaction: false,
  },
];

const LOCK_HINTS = /\b(UPDLOCK|HOLDLOCK|ROWLOCK|NOLOCK|TABLOCKX?|PAGLOCK|XLOCK|READPAST|SERIALIZABLE|REPEATABLEREAD|READCOMMITTEDLOCK)\b/i;

async function sentBy(c: Case): Promise<{ pool: RecordingPool; result: unknown }> {
  const { store, pool } = storeWith(c.answer);
  const result = await c.call(store);
  return { pool, result };
}

describe('SqlServerStore: one round trip per method', () => {
  it('has a case below for every public method of SqlServerStore (close makes no round trip)', () => {
    const methods = Object.getOwnPropertyNames(SqlServerStore.prototype).filter(
      (name) => !['constructor', 'close', 'isTransientError', 'oneBatch', 'releasePartnerSql'].includes(name),
    );
    expect(methods.sort()).toEqual(CASES.map((c) => c.method).sort());
  });

  describe.each(CASES)('$method', (c) => {
    it('sends exactly one query on one request, and nothing else', async () => {
      const { pool } = await sentBy(c);
      expect(pool.requests).toBe(1);
      expect(pool.sent.map((s) => s.via)).toEqual(['query']);
    });

    it('sends no lock hint and no MERGE', async () => {
      const { pool } = await sentBy(c);
      const text = pool.sent[0]?.text ?? '';
      expect(text).not.toMatch(LOCK_HINTS);
      expect(text).not.toMatch(/\bMERGE\b/i);
      expect(text).not.toMatch(/\bWITH\s*\(/i);
    });

    it(`${c.mapping}`, async () => {
      const { result } = await sentBy(c);
      expect(result).toEqual(c.expected);
    });

    if (c.transaction) {
      it('carries its transaction in the batch: XACT_ABORT ON, BEGIN TRANSACTION, COMMIT TRANSACTION', async () => {
        const { pool } = await sentBy(c);
        const text = pool.sent[0]?.text ?? '';
        const order = ['SET XACT_ABORT ON;', 'BEGIN TRANSACTION;', 'COMMIT TRANSACTION;'].map((part) => text.indexOf(part));
        expect(order.every((index) => index >= 0)).toBe(true);
        expect([...order].sort((a, b) => a - b)).toEqual(order);
      });
    }
  });
});

describe('SqlServerStore: what the batches answer', () => {
  it("recordCallback answers 'recorded' when the batch does", async () => {
    const { store } = storeWith({ recordset: [{ outcome: 'recorded' }] });
    expect(
      await store.recordCallback({ customerId: 'c', region: 'EU', sellingPartnerId: 'AP', encryptedMwsAuthToken: undefined, encryptedCode: 'v1:x', now: T0 }),
    ).toBe('recorded');
  });

  it("completeAuthorization answers 'stored' when the batch does", async () => {
    const { store } = storeWith({ recordset: [{ outcome: 'stored' }] });
    const input = { attemptId: 1, customerId: 'c', region: 'EU' as const, marketplace: 'DE', sellingPartnerId: 'AP', encryptedRefreshToken: 'v1:t', now: T0 };
    expect(await store.completeAuthorization(input)).toBe('stored');
  });

  it('completeAuthorization refuses an outcome it does not know instead of guessing', async () => {
    const { store } = storeWith({ recordset: [{ outcome: 'recorded' }] });
    const input = { attemptId: 1, customerId: 'c', region: 'EU' as const, marketplace: 'DE', sellingPartnerId: 'AP', encryptedRefreshToken: 'v1:t', now: T0 };
    await expect(store.completeAuthorization(input)).rejects.toThrow(/unexpected outcome/);
  });

  it('markRevoked is false when the batch answers revoked = 0', async () => {
    const { store } = storeWith({ recordset: [{ revoked: 0 }] });
    expect(await store.markRevoked({ customerId: 'c', region: 'FE', expectedRefreshToken: 'v1:t', failure: REVOKED, now: T0 })).toBe(false);
  });

  it('consumeAttempt is false when the conditional UPDATE changed no row', async () => {
    const { store } = storeWith({ rowsAffected: [0] });
    expect(await store.consumeAttempt({ stateHash: HASH, now: T0, sellingPartnerId: 'AP', codeHash: HASH, exchangeDeadline: DEADLINE })).toBe(false);
  });

  it('replaceEnvelope is false when the compare-and-swap changed no row', async () => {
    const { store } = storeWith({ rowsAffected: [0] });
    expect(await store.replaceEnvelope({ customerId: 'c', region: 'NA', column: 'spapi_oauth_code', expected: 'v1:a', replacement: 'v1:b' })).toBe(false);
  });

  it("startAuthorization answers 'too_many_open' when the batch does", async () => {
    const { store } = storeWith({ recordset: [{ outcome: 'too_many_open' }] });
    expect(await store.startAuthorization(NEW_ATTEMPT)).toBe('too_many_open');
  });

  it('recordRefusedCallback is false when the batch answers recorded = 0 (the attempt had its refusals)', async () => {
    const { store } = storeWith({ recordset: [{ recorded: 0 }] });
    expect(await store.recordRefusedCallback({ related: RELATED, sellingPartnerId: undefined, reason: 'state_expired', now: T0 })).toBe(false);
  });

  it("unlinkCredential answers 'not_found' when the batch read no row", async () => {
    const { store } = storeWith({ recordset: [] });
    expect(await store.unlinkCredential({ customerId: 'cust-9', region: 'EU', now: T0 })).toEqual({ kind: 'not_found' });
  });

  it('unlinkCredential refuses a previous status it does not know instead of guessing', async () => {
    const { store } = storeWith({ recordset: [{ previous_status: 'archived', previous_selling_partner_id: null }] });
    await expect(store.unlinkCredential({ customerId: 'cust-1', region: 'NA', now: T0 })).rejects.toThrow(/does not know/);
  });

  it('purgeAttempts on a dry run answers the count the batch SELECTs', async () => {
    const { store } = storeWith({ recordset: [{ victims: 2 }], rowsAffected: [9] });
    expect(await store.purgeAttempts({ ...PURGE, dryRun: true })).toBe(2);
  });

  it('findAttemptByStateHash maps exchange_deadline and refusal_count', async () => {
    const { store } = storeWith({ recordset: [{ ...ATTEMPT_ROW, consumed_at: T0, exchange_deadline: DEADLINE, refusal_count: 4 }] });
    expect(await store.findAttemptByStateHash(HASH)).toMatchObject({ consumedAt: T0, exchangeDeadline: DEADLINE, refusalCount: 4 });
  });

  it('replaceEnvelope on mws_auth_token is true when the compare-and-swap changed one row', async () => {
    const { store } = storeWith({ rowsAffected: [1] });
    expect(await store.replaceEnvelope({ customerId: 'c', region: 'NA', column: 'mws_auth_token', expected: 'amzn.mws.1', replacement: 'v1:k1:m' })).toBe(true);
  });

  it('checkHealth reports a refused write and a schema behind, and no sample when no row holds a token', async () => {
    const { store } = storeWith({ recordset: [{ write_error: 'The UPDATE permission was denied', schema_version: '005_truthful_record', customer_id: null, region: null, lwa_refresh_token: null }] });
    const health = await store.checkHealth({ now: T0, sampleSize: 5 });
    expect(health.writeRefused).toBe('The UPDATE permission was denied');
    expect(health.schemaBehind).toMatch(/ends at 005_truthful_record, this code needs 009_service_heartbeat: run npm run db:migrate/);
    expect(health.samples).toEqual([]);
  });

  it('checkHealth calls a schema behind when a shipped migration is missing though a newer one is recorded', async () => {
    // 009 applied before an older-numbered file (e.g. 006) was: the newest row alone would pass.
    const { store } = storeWith({
      recordset: [{ write_error: null, schema_version: '009_service_heartbeat', schema_present: REQUIRED_MIGRATIONS.length - 1, customer_id: null, region: null, lwa_refresh_token: null }],
    });
    expect((await store.checkHealth({ now: T0, sampleSize: 5 })).schemaBehind).toMatch(
      new RegExp(`lacks 1 of the ${REQUIRED_MIGRATIONS.length} migrations this code needs .*run npm run db:migrate`),
    );
  });

  it('checkHealth counts only the migrations this code needs, passed as one comma-framed input', async () => {
    const { store, pool } = storeWith({ recordset: [{ write_error: null, schema_version: '009_service_heartbeat', schema_present: REQUIRED_MIGRATIONS.length }] });
    expect((await store.checkHealth({ now: T0, sampleSize: 5 })).schemaBehind).toBeUndefined();
    expect(pool.sent[0]?.inputs.get('required')).toBe(`,${REQUIRED_MIGRATIONS.join(',')},`);
    expect(pool.sent[0]?.text).toMatch(/CHARINDEX\(',' \+ version \+ ',', @required\) > 0/);
  });

  it('checkHealth calls an empty schema_migrations behind', async () => {
    const { store } = storeWith({ recordset: [{ write_error: null, schema_version: null, customer_id: null, region: null, lwa_refresh_token: null }] });
    expect((await store.checkHealth({ now: T0, sampleSize: 5 })).schemaBehind).toMatch(/is empty or missing/);
  });

  it('close closes the pool without a round trip', async () => {
    const { store, pool } = storeWith();
    await store.close();
    expect([pool.closed, pool.requests]).toEqual([1, 0]);
  });
});

describe('SqlServerStore: the T-SQL that decides', () => {
  async function textOf(method: Case['method']): Promise<string> {
    const c = CASES.find((candidate) => candidate.method === method);
    if (c === undefined) throw new Error(`no case for ${method}`);
    const { pool } = await sentBy(c);
    return pool.sent[0]?.text ?? '';
  }

  it('acceptCallback consumes only a pending, unconsumed, unexpired attempt, first in its transaction', async () => {
    const text = await textOf('acceptCallback');
    const consume = /UPDATE \[dbo\]\.\[sp_api_auth_attempts\] SET\s+consumed_at = @now, selling_partner_id = @sellingPartnerId, code_hash = @codeHash, exchange_deadline = @exchangeDeadline\s+WHERE state_hash = @stateHash AND consumed_at IS NULL AND outcome = 'pending' AND expires_at > @now;/;
    expect(text).toMatch(new RegExp(`BEGIN TRANSACTION;\\s+${consume.source}\\s+IF @@ROWCOUNT <> 1\\s+BEGIN\\s+SET @outcome = 'not_consumable';`));
  });

  it('acceptCallback checks the row of (customer, region) before another customer, and records the callback only when neither guard answers', async () => {
    const text = await textOf('acceptCallback');
    const changed = text.indexOf("SET @outcome = 'partner_changed';");
    const conflict = text.indexOf("SET @outcome = 'partner_conflict';");
    const record = text.indexOf('spapi_oauth_code = @encryptedCode');
    expect(changed).toBeGreaterThan(0);
    expect(conflict).toBeGreaterThan(changed);
    expect(record).toBeGreaterThan(conflict);
    expect(text).toMatch(/SELECT @linked = selling_partner_id FROM \[dbo\]\.\[sp_api_credentials\]\s+WHERE customer_id = @customerId AND region = @region AND status = 'authorized' AND selling_partner_id <> @sellingPartnerId;/);
    expect(text).toMatch(/mws_auth_token = COALESCE\(@mwsAuthToken, mws_auth_token\)/);
  });

  it('acceptCallback, when the partner index refuses the record, rolls back and keeps only the consumption: partner_conflict', async () => {
    const text = await textOf('acceptCallback');
    const catchBlock = text.slice(text.indexOf('BEGIN CATCH'));
    expect(catchBlock).toMatch(
      /IF XACT_STATE\(\) <> 0 ROLLBACK TRANSACTION;\s+IF ERROR_NUMBER\(\) NOT IN \(2601, 2627\) THROW;\s+SET @linked = NULL;\s+UPDATE \[dbo\]\.\[sp_api_auth_attempts\] SET[^;]+consumed_at IS NULL AND outcome = 'pending' AND expires_at > @now;\s+SET @outcome = CASE WHEN @@ROWCOUNT = 1 THEN 'partner_conflict' ELSE 'not_consumable' END;/,
    );
  });

  it.each([
    [{ outcome: 'consumed' }, { kind: 'consumed' }],
    [{ outcome: 'not_consumable' }, { kind: 'not_consumable' }],
    [{ outcome: 'partner_conflict' }, { kind: 'partner_conflict' }],
  ])('acceptCallback maps the batch answer %o to %o', async (row, expected) => {
    const { store } = storeWith({ recordset: [{ ...row, linked_selling_partner_id: null }] });
    expect(await store.acceptCallback(ACCEPTANCE)).toEqual(expected);
  });

  it('acceptCallback passes the secrets as typed inputs, never in the text', async () => {
    const { pool } = await sentBy(CASES.find((c) => c.method === 'acceptCallback') as Case);
    const sent = pool.sent[0];
    expect([sent?.inputs.get('encryptedCode'), sent?.inputs.get('mwsAuthToken'), sent?.inputs.get('exchangeDeadline')]).toEqual(['v1:k1:code', 'v1:k1:mws', DEADLINE]);
    expect(sent?.text).not.toContain('v1:k1:code');
  });

  it('startLoginUriAttempt reads at most two rows, and for exactly one counts the open anonymous attempts before it inserts one', async () => {
    const text = await textOf('startLoginUriAttempt');
    expect(text).toMatch(/SELECT TOP \(2\) customer_id, region, marketplace FROM \[dbo\]\.\[sp_api_credentials\]\s+WHERE selling_partner_id = @sellingPartnerId AND \(@region IS NULL OR region = @region\);/);
    expect(text).toMatch(/AND expires_at > @now AND flow = 'reauthorize'\) >= @maxOpen\s+BEGIN\s+SET @outcome = 'too_many_open';/);
    expect(text).toMatch(/VALUES \(@stateHash, @bindingHash, 'reauthorize', @sellingPartnerId, @customerId, @rowRegion, @marketplace, @now,/);
    expect(text).not.toMatch(/(INSERT INTO|UPDATE) \[dbo\]\.\[sp_api_credentials\]/);
  });

  it("startLoginUriAttempt takes the row's marketplace only from the list it is given, else the region's default", async () => {
    const { pool } = await sentBy(CASES.find((c) => c.method === 'startLoginUriAttempt') as Case);
    const sent = pool.sent[0];
    expect(sent?.text).toMatch(/WHEN marketplace IS NOT NULL AND CHARINDEX\(',' \+ marketplace \+ ',', @marketplaces\) > 0 THEN marketplace\s+WHEN region = 'NA' THEN @defaultNA\s+WHEN region = 'EU' THEN @defaultEU\s+ELSE @defaultFE/);
    expect([sent?.inputs.get('marketplaces'), sent?.inputs.get('defaultEU'), sent?.inputs.get('region'), sent?.inputs.get('maxOpen')]).toEqual([',US,DE,JP,', 'UK', null, MAX_OPEN_ATTEMPTS]);
  });

  it.each([
    [{ outcome: 'unknown_seller', customer_id: null, region: null, marketplace: null }, { kind: 'unknown_seller' }],
    [{ outcome: 'ambiguous', customer_id: null, region: null, marketplace: null }, { kind: 'ambiguous' }],
    [{ outcome: 'too_many_open', customer_id: 'cust-1', region: 'FE', marketplace: 'JP' }, { kind: 'too_many_open', customerId: 'cust-1', region: 'FE' }],
  ])('startLoginUriAttempt maps the batch answer %o to %o', async (row, expected) => {
    const { store } = storeWith({ recordset: [row] });
    expect(await store.startLoginUriAttempt(LOGIN_START)).toEqual(expected);
  });

  it('startLoginUriAttempt refuses a marketplace code that is not two capital letters without a round trip', async () => {
    const { store, pool } = storeWith();
    await expect(store.startLoginUriAttempt({ ...LOGIN_START, marketplaces: ['US', "D'"] })).rejects.toThrow(/two capital letters/);
    expect(pool.requests).toBe(0);
  });

  it('claimAccessTokenLease updates only a free, expired or own lease, inserts only beside a credential row, and reads a lost insert race as not claimed', async () => {
    const text = await textOf('claimAccessTokenLease');
    expect(text).toMatch(/AND \(lease_owner IS NULL OR lease_until <= @now OR lease_owner = @owner\);/);
    expect(text).toMatch(/SELECT customer_id, region, @owner, @until, @now FROM \[dbo\]\.\[sp_api_credentials\]/);
    expect(text).toMatch(/IF ERROR_NUMBER\(\) IN \(2601, 2627\) SELECT 0 AS claimed;/);
  });

  it('storeSharedAccessToken writes only while the owner holds the lease and the credential holds that seller and refresh token, compared binary and length-exact', async () => {
    const text = await textOf('storeSharedAccessToken');
    expect(text).toMatch(/AND lease_owner = @owner/);
    expect(text).toMatch(/c\.status = 'authorized'/);
    expect(text).toMatch(/c\.selling_partner_id = @sellingPartnerId/);
    expect(text).toMatch(/c\.lwa_refresh_token = @expected COLLATE Latin1_General_100_BIN2/);
    expect(text).toMatch(/DATALENGTH\(c\.lwa_refresh_token\) = DATALENGTH\(@expected\)/);
    expect(text).toMatch(/lease_owner = NULL, lease_until = NULL/);
  });

  it('readAccessTokenSource is one SELECT joining the credential row to its shared token row', async () => {
    const text = await textOf('readAccessTokenSource');
    expect(text).toMatch(/LEFT JOIN \[dbo\]\.\[sp_api_access_tokens\] AS t ON t\.customer_id = c\.customer_id AND t\.region = c\.region/);
  });

  it('startAuthorization runs its transaction again only after a duplicate key on the credential INSERT', async () => {
    const text = await textOf('startAuthorization');
    expect(text).toMatch(/WHILE @done = 0/);
    expect(text).toMatch(/IF @step <> 'insert' OR ERROR_NUMBER\(\) NOT IN \(2601, 2627\) OR @try >= 3 THROW;/);
  });

  it("recordCallback and completeAuthorization turn a duplicate key into 'partner_conflict' after rolling back", async () => {
    for (const method of ['recordCallback', 'completeAuthorization'] as const) {
      const text = await textOf(method);
      const catchBlock = text.slice(text.indexOf('BEGIN CATCH'));
      expect(catchBlock).toMatch(
        /IF XACT_STATE\(\) <> 0 ROLLBACK TRANSACTION;\s+IF ERROR_NUMBER\(\) = 50002 SELECT 'partner_changed' AS outcome;\s+ELSE IF ERROR_NUMBER\(\) IN \(2601, 2627, 50003\) SELECT 'partner_conflict' AS outcome;\s+ELSE THROW;/,
      );
    }
  });

  it('every method that changes an authorization (or flags or reminds) inserts its event before COMMIT, in the batch of the change', async () => {
    const expected = {
      completeAuthorization: "THEN 'authorization.reauthorized' ELSE 'authorization.granted' END",
      failAuthorization: "'authorization.failed'",
      unlinkCredential: "'authorization.unlinked'",
      markRevoked: "'authorization.revoked'",
      importRefreshToken: "THEN 'authorization.reauthorized' ELSE 'authorization.granted' END",
      recordCredentialCheck: 'SELECT @eventType',
      recordDeadlineReminder: 'VALUES (@eventType',
    } as const;
    for (const [method, type] of Object.entries(expected) as Array<[keyof typeof expected, string]>) {
      const text = await textOf(method);
      const insert = text.indexOf('INSERT INTO [dbo].[sp_api_events]');
      expect([method, insert > text.indexOf('BEGIN TRANSACTION;'), insert < text.indexOf('COMMIT TRANSACTION;')]).toEqual([method, true, true]);
      expect(text.slice(insert)).toContain(type);
    }
  });

  it('claimDueEvents leases only the oldest pending event of each (customer, region), in the statement that reads it', async () => {
    const text = await textOf('claimDueEvents');
    expect(text).toMatch(/^\s*UPDATE \[dbo\]\.\[sp_api_events\] SET next_attempt_at = @leaseUntil/);
    expect(text).toMatch(/NOT EXISTS \(\s*SELECT 1 FROM \[dbo\]\.\[sp_api_events\] AS p\s+WHERE p\.customer_id = e\.customer_id AND p\.region = e\.region AND p\.delivery_state = 'pending' AND p\.event_id < e\.event_id\)/);
  });

  it('unlinkCredential writes no second authorization.unlinked for a row that was already unlinked', async () => {
    expect(await textOf('unlinkCredential')).toMatch(/SELECT 'authorization\.unlinked', [^;]*FROM @before WHERE status <> 'unlinked';/);
  });

  it('claimDueEvents re-checks, on the rows it updates, that they are still pending and due: under READ COMMITTED SNAPSHOT the subquery reads a version, so two deliverers could both lease one event', async () => {
    const text = await textOf('claimDueEvents');
    const outer = text.slice(text.indexOf('ORDER BY e.event_id)') + 'ORDER BY e.event_id)'.length);
    expect(outer).toMatch(/AND delivery_state = 'pending' AND \(next_attempt_at IS NULL OR next_attempt_at <= @now\)/);
  });

  it('completeAuthorization throws (so rolls back) when no credential row was updated', async () => {
    expect(await textOf('completeAuthorization')).toMatch(/THROW 50001, N'credential row missing for a consumed attempt'/);
  });

  it("completeAuthorization never replaces another seller's authorized row: the update is conditional, and 50002 reads partner_changed", async () => {
    const text = await textOf('completeAuthorization');
    expect(text).toMatch(/AND NOT \(status = 'authorized' AND selling_partner_id IS NOT NULL AND selling_partner_id <> @sellingPartnerId\);\s+IF @@ROWCOUNT <> 1/);
    expect(text).toMatch(/IF EXISTS \(SELECT 1 FROM \[dbo\]\.\[sp_api_credentials\] WHERE customer_id = @customerId AND region = @region\)\s+BEGIN/);
    expect(text).toMatch(/customer_id <> @customerId AND status = 'authorized'\s+\) THROW 50003,[^;]+;\s+THROW 50002,/);
    const { store } = storeWith({ recordset: [{ outcome: 'partner_changed' }] });
    const input = { attemptId: 1, customerId: 'c', region: 'EU' as const, marketplace: 'DE', sellingPartnerId: 'AP', encryptedRefreshToken: 'v1:t', now: T0 };
    expect(await store.completeAuthorization(input)).toBe('partner_changed');
  });

  it('markRevoked compares the envelope binary and length-exact, and writes the audit row only when it revoked one', async () => {
    const text = await textOf('markRevoked');
    expect(text).toMatch(/lwa_refresh_token = @expected COLLATE Latin1_General_100_BIN2\s+AND DATALENGTH\(lwa_refresh_token\) = DATALENGTH\(@expected\)/);
    expect(text).toMatch(/SET @revoked = @@ROWCOUNT;\s+IF @revoked = 1\s+BEGIN\s+DELETE FROM \[dbo\]\.\[sp_api_access_tokens\] WHERE customer_id = @customerId AND region = @region;\s+INSERT INTO/);
  });

  it('unlinkCredential deletes the shared access token inside its transaction', async () => {
    const text = await textOf('unlinkCredential');
    expect(text).toMatch(/BEGIN TRANSACTION;[\s\S]*DELETE FROM \[dbo\]\.\[sp_api_access_tokens\] WHERE customer_id = @customerId AND region = @region;[\s\S]*COMMIT TRANSACTION;/);
  });

  it('startAuthorization counts the open attempts of (customer, region) and inserts nothing at MAX_OPEN_ATTEMPTS', async () => {
    const { store, pool } = storeWith({ recordset: [{ outcome: 'started' }] });
    await store.startAuthorization(NEW_ATTEMPT);
    const sent = pool.sent[0];
    expect(sent?.text).toMatch(
      /IF \(SELECT COUNT\(\*\) FROM \[dbo\]\.\[sp_api_auth_attempts\]\s+WHERE customer_id = @customerId AND region = @region AND outcome = 'pending' AND consumed_at IS NULL\s+AND expires_at > @now\s+-- [^\n]*\s+AND CASE WHEN flow = 'reauthorize' THEN 1 ELSE 0 END = CASE WHEN @flow = 'reauthorize' THEN 1 ELSE 0 END\) >= @maxOpen\s+BEGIN\s+SET @outcome = 'too_many_open';\s+END\s+ELSE\s+BEGIN\s+SET @step = 'attempt';\s+INSERT INTO/,
    );
    expect(sent?.text).toMatch(/SELECT @outcome AS outcome;$/);
    expect(sent?.inputs.get('maxOpen')).toBe(MAX_OPEN_ATTEMPTS);
  });

  it('startAuthorization writes the credential row only for the signed flows, and there only the request date', async () => {
    const text = await textOf('startAuthorization');
    const credentialWrites = text.slice(text.indexOf("IF @flow <> 'reauthorize'"));
    expect(credentialWrites).toMatch(/^IF @flow <> 'reauthorize'\s+BEGIN\s+SET @step = 'update';\s+UPDATE \[dbo\]\.\[sp_api_credentials\] SET auth_requested_date = @now, updated_at = @now\s+WHERE/);
    expect(text.slice(0, text.indexOf("IF @flow <> 'reauthorize'"))).not.toContain('sp_api_credentials]');
    expect(text).not.toMatch(/status = /);
  });

  it('consumeAttempt writes the exchange deadline it is given', async () => {
    const { store, pool } = storeWith({ rowsAffected: [1] });
    await store.consumeAttempt({ stateHash: HASH, now: T0, sellingPartnerId: 'AP', codeHash: HASH, exchangeDeadline: DEADLINE });
    expect(pool.sent[0]?.text).toMatch(/exchange_deadline = @exchangeDeadline/);
    expect(pool.sent[0]?.inputs.get('exchangeDeadline')).toBe(DEADLINE);
  });

  it('recordCallback writes the MWS token envelope it is given', async () => {
    const { pool } = await sentBy(CASES.find((c) => c.method === 'recordCallback') as Case);
    expect(pool.sent[0]?.text).toMatch(/mws_auth_token = COALESCE\(@mwsAuthToken, mws_auth_token\)/);
    expect(pool.sent[0]?.inputs.get('mwsAuthToken')).toBe('v1:k1:mws');
  });

  it('recordCallback refuses an MWS token envelope longer than its column', async () => {
    const { store, pool } = storeWith({ recordset: [{ outcome: 'recorded' }] });
    const long = { customerId: 'c', region: 'EU' as const, sellingPartnerId: 'AP', encryptedMwsAuthToken: 'v'.repeat(1025), encryptedCode: 'v1:x', now: T0 };
    await expect(store.recordCallback(long)).rejects.toThrow(/longer than 1024/);
    expect(pool.requests).toBe(0);
  });

  it.each([
    ['completeAuthorization', 'succeeded'],
    ['failAuthorization', 'failed'],
    ['markRevoked', 'revoked'],
    ['unlinkCredential', 'unlinked'],
  ] as const)('%s moves the status by the CASE written from STATUS_CHANGES.%s', async (method, event) => {
    expect(await textOf(method)).toContain(`status = ${statusCaseSql(event)},`);
  });

  it('recordRefusedCallback inserts the refusal only when the bounded count on its attempt went up', async () => {
    const { pool } = await sentBy(CASES.find((c) => c.method === 'recordRefusedCallback') as Case);
    const sent = pool.sent[0];
    expect(sent?.text).toMatch(
      /UPDATE \[dbo\]\.\[sp_api_auth_attempts\] SET refusal_count = refusal_count \+ 1\s+WHERE attempt_id = @relatedAttemptId AND refusal_count < @maxRefusals;\s+IF @@ROWCOUNT = 1\s+BEGIN\s+INSERT INTO \[dbo\]\.\[sp_api_auth_attempts\]/,
    );
    expect([sent?.inputs.get('relatedAttemptId'), sent?.inputs.get('maxRefusals'), sent?.inputs.get('customerId')]).toEqual([7, MAX_REFUSALS_PER_ATTEMPT, 'cust-1']);
  });

  it('unlinkCredential clears the link and writes the ops audit row from the row as it was', async () => {
    const text = await textOf('unlinkCredential');
    expect(text).toMatch(/selling_partner_id = NULL, lwa_refresh_token = NULL, spapi_oauth_code = NULL, mws_auth_token = NULL,/);
    expect(text).toMatch(
      /UPDATE \[dbo\]\.\[sp_api_credentials\] SET status = status\s+OUTPUT inserted\.status, inserted\.selling_partner_id, inserted\.marketplace INTO @before \(status, selling_partner_id, marketplace\)\s+WHERE customer_id = @customerId AND region = @region;\s+UPDATE \[dbo\]\.\[sp_api_credentials\] SET\s+selling_partner_id = NULL/,
    );
    expect(text).toMatch(/SELECT 'ops', @customerId, @region, marketplace, selling_partner_id, @now, @now, 'succeeded', 'unlinked' FROM @before;/);
  });

  it('no batch reads OUTPUT deleted (Babelfish 4.3 cannot run it on a table outside the default schema)', async () => {
    const methods = [...new Set(CASES.map((c) => c.method))];
    expect(methods).toEqual(expect.arrayContaining(['completeAuthorization', 'importRefreshToken', 'unlinkCredential', 'recordCredentialCheck']));
    for (const method of methods) expect(await textOf(method), method).not.toMatch(/\bOUTPUT\s+deleted\./i);
  });

  it('purgeAttempts deletes at most @limit ended attempts, never the newest started one of a (customer, region)', async () => {
    const { pool } = await sentBy(CASES.find((c) => c.method === 'purgeAttempts') as Case);
    const sent = pool.sent[0];
    expect(sent?.text).toMatch(/^WITH victims AS \(\s+SELECT TOP \(@limit\) a\.attempt_id FROM/);
    expect(sent?.text).toMatch(/OR \(a\.exchange_deadline IS NULL AND a\.expires_at <= @now\)\s+OR a\.exchange_deadline <= @now\)/);
    expect(sent?.text).toMatch(
      /AND a\.attempt_id <> COALESCE\(\(\s+SELECT TOP \(1\) l\.attempt_id .*\s+WHERE l\.customer_id = a\.customer_id AND l\.region = a\.region AND \(l\.flow IN \('website', 'appstore'\) OR \(l\.flow = 'reauthorize' AND l\.consumed_at IS NOT NULL\)\)\s+ORDER BY l\.created_at DESC, l\.attempt_id DESC\), -1\)/,
    );
    expect(sent?.text).toMatch(/DELETE FROM \[dbo\]\.\[sp_api_auth_attempts\] WHERE attempt_id IN \(SELECT attempt_id FROM victims\);$/);
    expect(sent?.inputs.get('limit')).toBe(500);
  });

  it('purgeAttempts on a dry run deletes nothing', async () => {
    const { store, pool } = storeWith({ recordset: [{ victims: 0 }] });
    await store.purgeAttempts({ ...PURGE, dryRun: true });
    expect(pool.sent[0]?.text).not.toMatch(/\bDELETE\b/);
    expect(pool.sent[0]?.text).toMatch(/SELECT COUNT\(\*\) AS victims FROM victims;$/);
  });

  it('purgeAttempts refuses a limit outside 1 to 100000 without a round trip', async () => {
    const { store, pool } = storeWith();
    await expect(store.purgeAttempts({ ...PURGE, limit: 0, dryRun: false })).rejects.toThrow(/purge limit/);
    expect(pool.requests).toBe(0);
  });

  it('listCredentialStatus reads the last outcome as abandoned or interrupted at @now, as SqliteStore does', async () => {
    const text = await textOf('listCredentialStatus');
    expect(text).toMatch(
      /WHEN s\.view_outcome NOT IN \('pending', 'abandoned', 'interrupted'\) THEN s\.view_outcome\s+WHEN s\.last_attempt_exchange_deadline IS NULL AND s\.last_attempt_expires_at <= @now THEN 'abandoned'\s+WHEN s\.last_attempt_exchange_deadline <= @now THEN 'interrupted'\s+ELSE 'pending'/,
    );
    expect(text).toMatch(/v\.last_attempt_expires_at, v\.last_attempt_exchange_deadline,/);
  });

  it('checkHealth tries the heartbeat write in TRY/CATCH (a duplicate key from a racing instance is no refusal), guarded by OBJECT_ID', async () => {
    const text = await textOf('checkHealth');
    expect(text).toMatch(/IF OBJECT_ID\(N'\[dbo\]\.\[service_heartbeat\]', N'U'\) IS NULL/);
    expect(text).toMatch(/BEGIN TRY\s+UPDATE \[dbo\]\.\[service_heartbeat\] SET beat_at = @now WHERE id = 1;\s+IF @@ROWCOUNT = 0 INSERT INTO/);
    expect(text).toMatch(/IF ERROR_NUMBER\(\) NOT IN \(2601, 2627\) SET @writeError = ERROR_MESSAGE\(\);/);
    expect(text).toMatch(/IF OBJECT_ID\(N'\[dbo\]\.\[schema_migrations\]', N'U'\) IS NOT NULL\s+SELECT @schemaVersion = MAX\(version\)/);
    expect(text).toMatch(/ORDER BY lwa_refresh_token_date DESC, customer_id\) AS newest\s+UNION\s+SELECT customer_id, region, lwa_refresh_token FROM \(SELECT TOP \(@sample\)/);
  });

  it('listSecretEnvelopes lists rows holding only an MWS token too', async () => {
    expect(await textOf('listSecretEnvelopes')).toMatch(/OR mws_auth_token IS NOT NULL/);
  });

  it('reads exchange_deadline and refusal_count with every attempt', async () => {
    for (const method of ['findAttemptByStateHash', 'listAttempts', 'listRecentAttempts'] as const) {
      const text = await textOf(method);
      expect(text).toMatch(/\bexchange_deadline\b/);
      expect(text).toMatch(/\brefusal_count\b/);
    }
  });

  it('passes values as typed inputs, never in the text', async () => {
    const { pool } = await sentBy(CASES.find((c) => c.method === 'recordCallback') as Case);
    const sent = pool.sent[0];
    expect(sent?.inputs.get('customerId')).toBe('cust-1');
    expect(sent?.inputs.get('encryptedCode')).toBe('v1:k1:code');
    expect(sent?.text).not.toContain('cust-1');
    expect(sent?.text).not.toContain('v1:k1:code');
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

describe('SqlServerStore: isTransientError', () => {
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
