import { createHash, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_REFRESH_TOKEN_LENGTH } from '../../src/lwa/tokenResponse.js';
import {
  attemptOutcomeAt,
  CREDENTIAL_STATUSES,
  credentialGeneration,
  formatLastError,
  INCIDENT_DETAIL_LIMIT,
  LIMITS,
  MAX_OPEN_ATTEMPTS,
  MAX_REFUSALS_PER_ATTEMPT,
  nextStatus,
  REAUTHORIZE_AFTER_DAYS,
  STATUS_CHANGES,
  type AttemptRecord,
  type CompletedAuthorization,
  type CredentialSecrets,
  type CredentialStatus,
  type CredentialStatusRow,
  type CredentialStore,
  type CredentialSummary,
  type FailureDetails,
  type IncidentKind,
  type NewAttempt,
  type CredentialScope,
  type SecretColumn,
  type StartedFlow,
  type StatusEvent,
} from '../../src/credentials/index.js';
import { TokenCipher } from '../../src/crypto/tokenCipher.js';

/**
 * The behaviour the authorization flow relies on, pinned for every CredentialStore (SQLite, SQL Server). Each test
 * gets a fresh, empty store from `open` and builds its rows through the interface only, so the same assertions
 * hold whatever the dialect.
 */

export interface OpenedStore {
  store: CredentialStore;
  /** Closes the store and removes what `open` created. */
  cleanup: () => Promise<void>;
}

const T0 = new Date('2025-03-01T10:00:00.000Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);
const later = (d: Date, ms: number): Date => new Date(d.getTime() + ms);
const TTL_SECONDS = 600;
/** How long after consumption an unfinished attempt reads as still in progress (the flow sets it). */
const EXCHANGE_WINDOW_MS = 5 * 60 * 1000;

const SUMMARY_KEYS = [
  'authGrantedDate',
  'authRequestedDate',
  'customerId',
  'hasRefreshToken',
  'lastError',
  'lwaRefreshTokenDate',
  'marketplace',
  'region',
  'revokedAt',
  'scope',
  'sellingPartnerId',
  'status',
  'updatedAt',
].sort();
const SECRET_KEYS = ['lwaRefreshToken', 'mwsAuthToken', 'spapiOauthCode'];
const ATTEMPT_KEYS = [
  'attemptId',
  'browserBindingHash',
  'codeHash',
  'completedAt',
  'consumedAt',
  'createdAt',
  'customerId',
  'exchangeDeadline',
  'expectedSellingPartnerId',
  'expiresAt',
  'flow',
  'lwaError',
  'lwaErrorDescription',
  'marketplace',
  'outcome',
  'reason',
  'refusalCount',
  'region',
  'relatedAttemptId',
  'scope',
  'sellingPartnerId',
  'stateHash',
].sort();

/** The ops view's columns, camel-cased: no secret, no hash, no token. */
const STATUS_KEYS = [
  'authGrantedDate',
  'authRequestedDate',
  'customerId',
  'daysLeft',
  'hasRefreshToken',
  'lastAttemptAt',
  'lastAttemptOutcome',
  'lastAttemptReason',
  'lastError',
  'marketplace',
  'reauthorizeBy',
  'region',
  'revokedAt',
  'scope',
  'sellingPartnerId',
  'status',
].sort();
const DAY_MS = 86_400_000;

const sha256 = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');
/** A fresh 64-hex state hash, like sha256Hex(state) in the flow. */
const newHash = (): string => sha256(randomUUID());
/** A TokenCipher-shaped envelope of exactly `length` characters. */
const envelope = (length: number, fill = 'A'): string => {
  const head = `v1:k1:${randomUUID().replaceAll('-', '').slice(0, 16)}:`;
  return (head + fill.repeat(length)).slice(0, length);
};
/**
 * A refresh token's fingerprint as TokenCipher.fingerprint spells it (`<kid>:<base64url HMAC>`): here a plain hash of
 * the envelope, so one envelope has one fingerprint and two envelopes two (the store only compares them).
 */
const fingerprintOf = (token: string, kid = 'k1'): string => `${kid}:${createHash('sha256').update(token, 'utf8').digest('base64url')}`;
/** The marketplace an attempt of the scope takes when a test names none: US, DE, and the Far East marketplace itself. */
const marketplaceOf = (scope: CredentialScope): string => (scope === 'NA' ? 'US' : scope === 'EU' ? 'DE' : scope);
const iso = (d: Date | null | undefined): string | null | undefined => (d instanceof Date ? d.toISOString() : d);
const rowKey = (c: { customerId: string; scope: CredentialScope }): string => `${c.customerId}/${c.scope}`;
/** What the access-token service passes when LWA answers invalid_grant. */
const REVOKED: FailureDetails = {
  reason: 'authorization_revoked',
  lwaError: 'invalid_grant',
  lwaErrorDescription: 'The request has an invalid grant parameter : refresh_token',
};

export function describeStoreContract(name: string, open: () => Promise<OpenedStore>): void {
  describe(`CredentialStore contract: ${name}`, () => {
    let opened: OpenedStore | undefined;
    let store: CredentialStore;

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });

    afterEach(async () => {
      await opened?.cleanup();
      opened = undefined;
    });

    // ---- helpers: every row is made through the interface --------------------------------------------------

    async function start(
      customerId: string,
      scope: CredentialScope = 'NA',
      options: { marketplace?: string; now?: Date; stateHash?: string; flow?: StartedFlow; expectedSellingPartnerId?: string | null } = {},
    ): Promise<{ attempt: NewAttempt; record: AttemptRecord }> {
      const now = options.now ?? T0;
      const attempt: NewAttempt = {
        stateHash: options.stateHash ?? newHash(),
        browserBindingHash: newHash(),
        flow: options.flow ?? 'website',
        expectedSellingPartnerId: options.expectedSellingPartnerId ?? null,
        customerId,
        scope,
        marketplace: options.marketplace ?? marketplaceOf(scope),
        createdAt: now,
        expiresAt: new Date(now.getTime() + TTL_SECONDS * 1000),
      };
      await store.startAuthorization(attempt);
      const record = await store.findAttemptByStateHash(attempt.stateHash);
      if (record === undefined) throw new Error('started attempt not found');
      return { attempt, record };
    }

    /** The customer whose authorized row in `scope` holds the seller (what the partner guards look for). */
    async function authorizedCustomer(sellingPartnerId: string, scope: CredentialScope): Promise<string | undefined> {
      const rows = await store.listCredentialsFor({ sellingPartnerId });
      return rows.find((row) => row.scope === scope && row.status === 'authorized')?.customerId;
    }

    async function consume(attempt: NewAttempt, sellingPartnerId: string, now: Date = at(10)): Promise<boolean> {
      return store.consumeAttempt({
        stateHash: attempt.stateHash,
        now,
        sellingPartnerId,
        codeHash: sha256(`code-${attempt.stateHash}`),
        exchangeDeadline: new Date(now.getTime() + EXCHANGE_WINDOW_MS),
      });
    }

    async function record(
      customerId: string,
      scope: CredentialScope,
      sellingPartnerId: string,
      options: { now?: Date; code?: string; mws?: string } = {},
    ): Promise<'recorded' | 'partner_conflict'> {
      return store.recordCallback({
        customerId,
        scope,
        sellingPartnerId,
        encryptedMwsAuthToken: options.mws,
        encryptedCode: options.code ?? envelope(120, 'c'),
        now: options.now ?? at(20),
      });
    }

    /**
     * completeAuthorization as the flow calls it: the fingerprint of the envelope stored (unless given), and no shared
     * access token unless one is given.
     */
    function completeGrant(
      input: Omit<CompletedAuthorization, 'refreshTokenFingerprint' | 'sharedAccessToken'> & Partial<Pick<CompletedAuthorization, 'refreshTokenFingerprint' | 'sharedAccessToken'>>,
    ): Promise<'stored' | 'partner_conflict' | 'partner_changed'> {
      return store.completeAuthorization({ refreshTokenFingerprint: fingerprintOf(input.encryptedRefreshToken), sharedAccessToken: undefined, ...input });
    }

    /** The whole happy path: start, consume, record, complete. Returns the token envelope stored. */
    async function authorize(
      customerId: string,
      scope: CredentialScope,
      sellingPartnerId: string,
      options: { start?: Date; token?: string; marketplace?: string; shared?: CompletedAuthorization['sharedAccessToken']; fingerprint?: string } = {},
    ): Promise<{ token: string; attempt: AttemptRecord }> {
      const begin = options.start ?? T0;
      const { attempt, record: row } = await start(customerId, scope, { now: begin, ...(options.marketplace ? { marketplace: options.marketplace } : {}) });
      expect(await consume(attempt, sellingPartnerId, new Date(begin.getTime() + 10_000))).toBe(true);
      expect(await record(customerId, scope, sellingPartnerId, { now: new Date(begin.getTime() + 20_000) })).toBe('recorded');
      const token = options.token ?? envelope(2800, 't');
      const stored = await completeGrant({
        attemptId: row.attemptId,
        customerId,
        scope,
        marketplace: attempt.marketplace,
        sellingPartnerId,
        encryptedRefreshToken: token,
        refreshTokenFingerprint: options.fingerprint ?? fingerprintOf(token),
        sharedAccessToken: options.shared,
        now: new Date(begin.getTime() + 30_000),
      });
      expect(stored).toBe('stored');
      return { token, attempt: row };
    }

    async function credential(customerId: string, scope: CredentialScope = 'NA') {
      const row = await store.findCredential(customerId, scope);
      if (row === undefined) throw new Error(`no credential row for ${customerId}/${scope}`);
      return row;
    }

    async function attemptById(attemptId: number): Promise<AttemptRecord> {
      const found = (await store.listAttempts()).find((a) => a.attemptId === attemptId);
      if (found === undefined) throw new Error(`no attempt ${attemptId}`);
      return found;
    }

    // ---- startAuthorization ---------------------------------------------------------------------------------

    describe('startAuthorization', () => {
      it('inserts a pending website attempt and a pending credential row', async () => {
        const { attempt, record: row } = await start('cust-1', 'NA', { marketplace: 'CA' });

        expect(Object.keys(row).sort()).toEqual(ATTEMPT_KEYS);
        expect(typeof row.attemptId).toBe('number');
        expect(Number.isSafeInteger(row.attemptId) && row.attemptId > 0).toBe(true);
        expect({ ...row, createdAt: iso(row.createdAt), expiresAt: iso(row.expiresAt), attemptId: 0 }).toEqual({
          attemptId: 0,
          stateHash: attempt.stateHash,
          browserBindingHash: attempt.browserBindingHash,
          flow: 'website',
          customerId: 'cust-1',
          scope: 'NA',
          region: 'NA',
          marketplace: 'CA',
          sellingPartnerId: null,
          expectedSellingPartnerId: null,
          codeHash: null,
          createdAt: T0.toISOString(),
          expiresAt: at(TTL_SECONDS).toISOString(),
          consumedAt: null,
          exchangeDeadline: null,
          completedAt: null,
          outcome: 'pending',
          reason: null,
          lwaError: null,
          lwaErrorDescription: null,
          relatedAttemptId: null,
          refusalCount: 0,
        });

        const cred = await credential('cust-1');
        expect(cred.authRequestedDate).toBeInstanceOf(Date);
        expect(cred.updatedAt).toBeInstanceOf(Date);
        expect({ ...cred, authRequestedDate: iso(cred.authRequestedDate), updatedAt: iso(cred.updatedAt) }).toEqual({
          customerId: 'cust-1',
          scope: 'NA',
          region: 'NA',
          marketplace: 'CA',
          sellingPartnerId: null,
          status: 'pending',
          lastError: null,
          authRequestedDate: T0.toISOString(),
          authGrantedDate: null,
          lwaRefreshTokenDate: null,
          revokedAt: null,
          updatedAt: T0.toISOString(),
          hasRefreshToken: false,
          lwaRefreshToken: null,
          spapiOauthCode: null,
          mwsAuthToken: null,
        });
        expect(await store.findCredential('cust-1', 'EU')).toBeUndefined();
        expect(await store.findAttemptByStateHash(newHash())).toBeUndefined();
      });

      it('a second start changes no status: a failed row stays failed, with its marketplace; only auth_requested_date moves', async () => {
        const first = await start('cust-1', 'EU', { marketplace: 'DE' });
        expect(await consume(first.attempt, 'APARTNER1')).toBe(true);
        await store.failAuthorization({ attemptId: first.record.attemptId, customerId: 'cust-1', scope: 'EU', failure: { reason: 'code_rejected' }, now: at(30) });
        const failed = await credential('cust-1', 'EU');
        expect(failed.status).toBe('failed');

        await start('cust-1', 'EU', { marketplace: 'FR', now: at(100) });
        const cred = await credential('cust-1', 'EU');
        expect({ ...cred, authRequestedDate: iso(cred.authRequestedDate), updatedAt: iso(cred.updatedAt) }).toEqual({
          ...failed,
          authRequestedDate: at(100).toISOString(),
          updatedAt: at(100).toISOString(),
        });
        expect((await store.listCredentials()).length).toBe(1);
        expect((await store.listAttempts({ customerId: 'cust-1' })).length).toBe(2);
      });

      it('a second start for an authorized row keeps it authorized, with its token, partner and marketplace', async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1', { marketplace: 'US' });
        const before = await credential('cust-1');

        await start('cust-1', 'NA', { marketplace: 'MX', now: at(500) });
        const after = await credential('cust-1');
        expect(after.status).toBe('authorized');
        expect(after.lwaRefreshToken).toBe(token);
        expect(after.hasRefreshToken).toBe(true);
        expect(after.sellingPartnerId).toBe('APARTNER1');
        expect(after.marketplace).toBe('US');
        expect(iso(after.authGrantedDate)).toBe(iso(before.authGrantedDate));
        expect(iso(after.authRequestedDate)).toBe(at(500).toISOString());
      });

      it('is one transaction: a refused attempt (duplicate state hash) leaves no credential row behind', async () => {
        const { attempt } = await start('cust-1');
        await expect(start('cust-2', 'NA', { stateHash: attempt.stateHash, now: at(5) })).rejects.toThrow();
        expect(await store.findCredential('cust-2', 'NA')).toBeUndefined();
        expect(await store.listAttempts({ customerId: 'cust-2' })).toEqual([]);
        expect(iso((await credential('cust-1')).authRequestedDate)).toBe(T0.toISOString());
      });

      it('concurrent starts for the same new customer and scope all succeed on one row', async () => {
        const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => start('cust-race', 'JP', { now: at(i) })));
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
        expect((await store.listCredentials()).filter((c) => c.customerId === 'cust-race')).toHaveLength(1);
        expect(await store.listAttempts({ customerId: 'cust-race' })).toHaveLength(10);
        expect((await credential('cust-race', 'JP')).status).toBe('pending');
      });
    });

    // ---- Login-URI flows -------------------------------------------------------------------------------------

    describe('Login-URI flows: flow and expected_selling_partner_id', () => {
      it('round-trip the flow and the expected seller of reauthorize and appstore attempts; website attempts have none', async () => {
        const longest = 'A'.repeat(LIMITS.sellingPartnerId);
        const re = await start('cust-1', 'NA', { flow: 'reauthorize', expectedSellingPartnerId: 'APARTNER1' });
        const app = await start('cust-2', 'EU', { flow: 'appstore', expectedSellingPartnerId: longest, now: at(1) });
        const web = await start('cust-3', 'JP', { now: at(2) });

        expect(Object.keys(re.record).sort()).toEqual(ATTEMPT_KEYS);
        expect([re.record.flow, re.record.expectedSellingPartnerId, re.record.sellingPartnerId]).toEqual(['reauthorize', 'APARTNER1', null]);
        expect([app.record.flow, app.record.expectedSellingPartnerId]).toEqual(['appstore', longest]);
        expect([web.record.flow, web.record.expectedSellingPartnerId]).toEqual(['website', null]);
        // The anonymous Login URI writes no credential column: no row appears for a reauthorize attempt.
        expect(await store.findCredential('cust-1', 'NA')).toBeUndefined();
        expect((await credential('cust-2', 'EU')).status).toBe('pending');

        // Consuming records the seller the callback named beside the expected one; neither overwrites the other.
        expect(await consume(re.attempt, 'APARTNER9', at(10))).toBe(true);
        const consumed = await attemptById(re.record.attemptId);
        expect([consumed.flow, consumed.expectedSellingPartnerId, consumed.sellingPartnerId]).toEqual(['reauthorize', 'APARTNER1', 'APARTNER9']);
        await store.failAuthorization({ attemptId: re.record.attemptId, customerId: 'cust-1', scope: 'NA', failure: { reason: 'seller_mismatch' }, now: at(20) });
        expect((await attemptById(re.record.attemptId)).expectedSellingPartnerId).toBe('APARTNER1');

        const listed = (list: AttemptRecord[]) => list.map((a) => [a.customerId, a.flow, a.expectedSellingPartnerId]);
        expect(listed(await store.listAttempts())).toEqual([
          ['cust-1', 'reauthorize', 'APARTNER1'],
          ['cust-2', 'appstore', longest],
          ['cust-3', 'website', null],
        ]);
        expect(listed(await store.listRecentAttempts({ since: T0 }))).toEqual([
          ['cust-3', 'website', null],
          ['cust-2', 'appstore', longest],
          ['cust-1', 'reauthorize', 'APARTNER1'],
        ]);
        expect((await store.findAttemptByStateHash(app.attempt.stateHash))?.expectedSellingPartnerId).toBe(longest);

        // A refused callback naming the attempt does not inherit its expected seller.
        await store.recordRefusedCallback({ related: consumed, sellingPartnerId: 'APARTNER7', reason: 'seller_mismatch', now: at(30) });
        const refused = (await store.listAttempts()).at(-1);
        expect([refused?.flow, refused?.expectedSellingPartnerId, refused?.relatedAttemptId]).toEqual(['callback', null, re.record.attemptId]);
      });

      it('a reauthorize attempt on an authorized row keeps it authorized; completing it replaces the token', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        const re = await start('cust-1', 'NA', { flow: 'reauthorize', expectedSellingPartnerId: 'APARTNER1', now: at(1000) });
        expect((await credential('cust-1')).status).toBe('authorized');
        expect(await consume(re.attempt, 'APARTNER1', at(1010))).toBe(true);
        const token = envelope(2800, 'q');
        expect(
          await completeGrant({
            attemptId: re.record.attemptId,
            customerId: 'cust-1',
            scope: 'NA',
            marketplace: 'US',
            sellingPartnerId: 'APARTNER1',
            encryptedRefreshToken: token,
            now: at(1030),
          }),
        ).toBe('stored');
        const cred = await credential('cust-1');
        expect([cred.status, cred.lwaRefreshToken, iso(cred.authGrantedDate)]).toEqual(['authorized', token, at(1030).toISOString()]);
        const done = await attemptById(re.record.attemptId);
        expect([done.flow, done.outcome, done.expectedSellingPartnerId]).toEqual(['reauthorize', 'succeeded', 'APARTNER1']);
      });

      it('refuses an expected seller longer than the column and writes nothing', async () => {
        await expect(
          start('cust-1', 'NA', { flow: 'appstore', expectedSellingPartnerId: 'A'.repeat(LIMITS.sellingPartnerId + 1) }),
        ).rejects.toThrow();
        expect(await store.listAttempts()).toEqual([]);
        expect(await store.listCredentials()).toEqual([]);
      });
    });

    // ---- consumeAttempt -------------------------------------------------------------------------------------

    describe('consumeAttempt', () => {
      it('succeeds for exactly one of 50 concurrent callers and records partner and code hash', async () => {
        const { attempt, record: row } = await start('cust-1');
        const other = await start('cust-2');
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            store.consumeAttempt({ stateHash: attempt.stateHash, now: at(10), sellingPartnerId: `APARTNER${i}`, codeHash: sha256(`code-${i}`), exchangeDeadline: at(310) }),
          ),
        );
        expect(results.filter((r) => r === true)).toHaveLength(1);
        const winner = results.indexOf(true);

        const consumed = await attemptById(row.attemptId);
        expect(iso(consumed.consumedAt)).toBe(at(10).toISOString());
        expect(consumed.sellingPartnerId).toBe(`APARTNER${winner}`);
        expect(consumed.codeHash).toBe(sha256(`code-${winner}`));
        expect(consumed.outcome).toBe('pending');

        expect(await consume(attempt, 'APARTNER1', at(11))).toBe(false);
        expect((await attemptById(row.attemptId)).sellingPartnerId).toBe(`APARTNER${winner}`);
        expect(await attemptById(other.record.attemptId)).toEqual(other.record);
      });

      it('refuses an attempt at or past its expiry, and an unknown state', async () => {
        const { attempt, record: row } = await start('cust-1');
        const expiresAt = at(TTL_SECONDS);
        expect(await consume(attempt, 'APARTNER1', expiresAt)).toBe(false);
        expect(await consume(attempt, 'APARTNER1', new Date(expiresAt.getTime() + 1))).toBe(false);
        expect(await store.consumeAttempt({ stateHash: newHash(), now: at(10), sellingPartnerId: 'APARTNER1', codeHash: newHash(), exchangeDeadline: at(310) })).toBe(false);
        const untouched = await attemptById(row.attemptId);
        expect(untouched.consumedAt).toBeNull();
        expect(untouched.sellingPartnerId).toBeNull();
        expect(untouched.codeHash).toBeNull();

        expect(await consume(attempt, 'APARTNER1', new Date(expiresAt.getTime() - 1))).toBe(true);
      });
    });

    // ---- acceptCallback -------------------------------------------------------------------------------------

    describe('acceptCallback', () => {
      function accept(attempt: NewAttempt, sellingPartnerId: string, options: { now?: Date; code?: string; mws?: string } = {}) {
        const now = options.now ?? at(10);
        return store.acceptCallback({
          stateHash: attempt.stateHash,
          now,
          sellingPartnerId,
          codeHash: sha256(`code-${attempt.stateHash}`),
          exchangeDeadline: new Date(now.getTime() + EXCHANGE_WINDOW_MS),
          customerId: attempt.customerId,
          scope: attempt.scope,
          encryptedMwsAuthToken: options.mws,
          encryptedCode: options.code ?? envelope(120, 'c'),
        });
      }

      it('consumes the attempt and records partner, code envelope and MWS token on the row', async () => {
        const { attempt, record: row } = await start('cust-1');
        const code = envelope(LIMITS.encryptedCode, 'c');
        expect(await accept(attempt, 'APARTNER1', { code, mws: 'v1:k1:mws', now: at(10) })).toEqual({ kind: 'consumed' });
        const consumed = await attemptById(row.attemptId);
        expect([iso(consumed.consumedAt), consumed.sellingPartnerId, consumed.codeHash, iso(consumed.exchangeDeadline), consumed.outcome]).toEqual([
          at(10).toISOString(),
          'APARTNER1',
          sha256(`code-${attempt.stateHash}`),
          later(at(10), EXCHANGE_WINDOW_MS).toISOString(),
          'pending',
        ]);
        const c = await credential('cust-1');
        expect([c.sellingPartnerId, c.spapiOauthCode, c.mwsAuthToken, c.status]).toEqual(['APARTNER1', code, 'v1:k1:mws', 'pending']);
      });

      it('answers consumed for exactly one of 20 concurrent callers; the others write nothing', async () => {
        const { attempt, record: row } = await start('cust-1');
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => accept(attempt, `APARTNER${i}`)));
        expect(results.filter((r) => r.kind === 'consumed')).toHaveLength(1);
        expect(results.filter((r) => r.kind === 'not_consumable')).toHaveLength(19);
        const winner = results.findIndex((r) => r.kind === 'consumed');
        expect((await attemptById(row.attemptId)).sellingPartnerId).toBe(`APARTNER${winner}`);
        expect((await credential('cust-1')).sellingPartnerId).toBe(`APARTNER${winner}`);
      });

      it('answers not_consumable and writes nothing for an expired, an ended or an unknown state', async () => {
        const { attempt, record: row } = await start('cust-1');
        expect(await accept(attempt, 'APARTNER1', { now: at(TTL_SECONDS) })).toEqual({ kind: 'not_consumable' });
        await store.failAuthorization({ attemptId: row.attemptId, customerId: 'cust-1', scope: 'NA', failure: { reason: 'storage_error' }, now: at(5) });
        expect(await accept(attempt, 'APARTNER1', { now: at(10) })).toEqual({ kind: 'not_consumable' });
        expect(await accept({ ...attempt, stateHash: newHash() }, 'APARTNER1')).toEqual({ kind: 'not_consumable' });
        expect((await attemptById(row.attemptId)).consumedAt).toBeNull();
        const c = await credential('cust-1');
        expect([c.sellingPartnerId, c.spapiOauthCode]).toEqual([null, null]);
      });

      it('answers partner_changed with the linked seller when the row is authorized for another one: the state is spent, nothing recorded', async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1');
        const before = await credential('cust-1');
        const { attempt, record: row } = await start('cust-1', 'NA', { now: at(100) });
        expect(await accept(attempt, 'APARTNER2', { now: at(110), mws: 'v1:k1:other' })).toEqual({ kind: 'partner_changed', linked: 'APARTNER1' });
        expect((await attemptById(row.attemptId)).consumedAt).not.toBeNull();
        const after = await credential('cust-1');
        expect([after.sellingPartnerId, after.lwaRefreshToken, after.spapiOauthCode, after.mwsAuthToken]).toEqual([
          'APARTNER1',
          token,
          before.spapiOauthCode,
          before.mwsAuthToken,
        ]);
      });

      it('answers partner_conflict when another customer is authorized for the seller in that scope: the state is spent, nothing recorded', async () => {
        await authorize('cust-a', 'NA', 'APARTNER1');
        const { attempt, record: row } = await start('cust-b', 'NA', { now: at(100) });
        expect(await accept(attempt, 'APARTNER1', { now: at(110) })).toEqual({ kind: 'partner_conflict' });
        expect((await attemptById(row.attemptId)).consumedAt).not.toBeNull();
        const b = await credential('cust-b');
        expect([b.sellingPartnerId, b.spapiOauthCode]).toEqual([null, null]);
        expect(await authorizedCustomer('APARTNER1', 'NA')).toBe('cust-a');
      });

      it('answers partner_changed before partner_conflict when both hold', async () => {
        await authorize('cust-a', 'NA', 'APARTNER1');
        await authorize('cust-b', 'NA', 'APARTNER2', { start: at(60) });
        const { attempt } = await start('cust-b', 'NA', { now: at(200) });
        expect(await accept(attempt, 'APARTNER1', { now: at(210) })).toEqual({ kind: 'partner_changed', linked: 'APARTNER2' });
      });

      it("re-records the same seller on its authorized row, and takes the seller from another customer's row that is not authorized", async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        const again = await start('cust-1', 'NA', { now: at(100) });
        expect(await accept(again.attempt, 'APARTNER1', { now: at(110) })).toEqual({ kind: 'consumed' });
        const holder = await start('cust-x', 'EU');
        expect(await accept(holder.attempt, 'APARTNER5')).toEqual({ kind: 'consumed' });
        // The holder's exchange never finished: once its deadline (at(310)) has passed, its row holds the seller loosely.
        const taker = await start('cust-y', 'EU', { now: at(300) });
        expect(await accept(taker.attempt, 'APARTNER5', { now: at(320) })).toEqual({ kind: 'consumed' });
        expect([(await credential('cust-x', 'EU')).sellingPartnerId, (await credential('cust-y', 'EU')).sellingPartnerId]).toEqual([null, 'APARTNER5']);
      });

      it("answers partner_conflict to another customer's callback for a seller an exchange in flight has claimed: the state is spent, nothing recorded", async () => {
        const a = await start('cust-a', 'NA');
        expect(await accept(a.attempt, 'APARTNER1', { now: at(10) })).toEqual({ kind: 'consumed' });
        const aClaimed = await credential('cust-a');
        const b = await start('cust-b', 'NA', { now: at(20) });
        const bBefore = await credential('cust-b');
        expect(await accept(b.attempt, 'APARTNER1', { now: at(30), mws: 'v1:k1:mws-b' })).toEqual({ kind: 'partner_conflict' });
        expect((await attemptById(b.record.attemptId)).consumedAt).not.toBeNull();
        expect(await credential('cust-b')).toEqual(bBefore);
        expect(await credential('cust-a')).toEqual(aClaimed);
        expect(aClaimed.sellingPartnerId).toBe('APARTNER1');
        // The claim holds the seller in its scope only.
        const c = await start('cust-c', 'EU', { now: at(40) });
        expect(await accept(c.attempt, 'APARTNER1', { now: at(50) })).toEqual({ kind: 'consumed' });
        const d = await start('cust-d', 'JP', { now: at(40) });
        expect(await accept(d.attempt, 'APARTNER1', { now: at(50) })).toEqual({ kind: 'consumed' });
      });

      it('claims the seller until the exchange deadline, to the millisecond; then the rules are as before', async () => {
        const a = await start('cust-a', 'NA');
        // Consumed at at(10): its exchange deadline is at(310).
        expect(await accept(a.attempt, 'APARTNER1', { now: at(10) })).toEqual({ kind: 'consumed' });
        const early = await start('cust-b', 'NA', { now: at(300) });
        expect(await accept(early.attempt, 'APARTNER1', { now: later(at(310), -1) })).toEqual({ kind: 'partner_conflict' });
        const late = await start('cust-c', 'NA', { now: at(300) });
        expect(await accept(late.attempt, 'APARTNER1', { now: at(310) })).toEqual({ kind: 'consumed' });
        // cust-a's row was never authorized: it gave the seller up, and cust-c's exchange claims it in its turn.
        expect([(await credential('cust-a')).sellingPartnerId, (await credential('cust-c')).sellingPartnerId]).toEqual([null, 'APARTNER1']);
        const next = await start('cust-d', 'NA', { now: at(320) });
        expect(await accept(next.attempt, 'APARTNER1', { now: at(330) })).toEqual({ kind: 'partner_conflict' });
      });

      it('once the exchange in flight completes, the grant holds the seller as before; once it fails, the seller is free at once', async () => {
        const a = await start('cust-a', 'NA');
        expect(await accept(a.attempt, 'APARTNER1', { now: at(10) })).toEqual({ kind: 'consumed' });
        expect(
          await completeGrant({ attemptId: a.record.attemptId, customerId: 'cust-a', scope: 'NA', marketplace: 'US', sellingPartnerId: 'APARTNER1', encryptedRefreshToken: envelope(2800, 'a'), now: at(20) }),
        ).toBe('stored');
        // Past the claim's deadline: the authorized row refuses the other customer, as it always has.
        const b = await start('cust-b', 'NA', { now: at(400) });
        expect(await accept(b.attempt, 'APARTNER1', { now: at(410) })).toEqual({ kind: 'partner_conflict' });
        expect(await authorizedCustomer('APARTNER1', 'NA')).toBe('cust-a');
        // The same customer calling back again for its own seller is consumed, as a re-authorization.
        const again = await start('cust-a', 'NA', { now: at(420) });
        expect(await accept(again.attempt, 'APARTNER1', { now: at(430) })).toEqual({ kind: 'consumed' });

        const x = await start('cust-x', 'EU');
        expect(await accept(x.attempt, 'APARTNER5', { now: at(10) })).toEqual({ kind: 'consumed' });
        await store.failAuthorization({ attemptId: x.record.attemptId, customerId: 'cust-x', scope: 'EU', failure: { reason: 'code_rejected' }, now: at(20) });
        // Well before the deadline (at(310)): the failed exchange claims nothing any more.
        const y = await start('cust-y', 'EU', { now: at(30) });
        expect(await accept(y.attempt, 'APARTNER5', { now: at(40) })).toEqual({ kind: 'consumed' });
        expect([(await credential('cust-x', 'EU')).sellingPartnerId, (await credential('cust-y', 'EU')).sellingPartnerId]).toEqual([null, 'APARTNER5']);
      });

      it("answers partner_changed to the same customer's callback naming another seller while the first one's exchange is in flight", async () => {
        const first = await start('cust-1', 'NA');
        const second = await start('cust-1', 'NA', { now: at(1) });
        expect(await accept(first.attempt, 'APARTNER1', { now: at(10) })).toEqual({ kind: 'consumed' });
        const claimed = await credential('cust-1');
        expect(await accept(second.attempt, 'APARTNER2', { now: at(20) })).toEqual({ kind: 'partner_changed', linked: 'APARTNER1' });
        expect((await attemptById(second.record.attemptId)).consumedAt).not.toBeNull();
        expect(await credential('cust-1')).toEqual(claimed);
        // Past the first one's deadline the row is not authorized and claimed by nobody: another seller may be recorded.
        const third = await start('cust-1', 'NA', { now: at(400) });
        expect(await accept(third.attempt, 'APARTNER2', { now: at(410) })).toEqual({ kind: 'consumed' });
        expect((await credential('cust-1')).sellingPartnerId).toBe('APARTNER2');
      });

      it('of two customers calling back for one seller at once, exactly one is consumed; the other answers partner_conflict', async () => {
        for (let round = 0; round < 5; round += 1) {
          const seller = `ARACE${round}`;
          const a = await start(`race-a${round}`, 'NA', { now: at(round) });
          const b = await start(`race-b${round}`, 'NA', { now: at(round) });
          const results = await Promise.all([accept(a.attempt, seller, { now: at(100 + round) }), accept(b.attempt, seller, { now: at(100 + round) })]);
          expect(results.map((r) => r.kind).sort()).toEqual(['consumed', 'partner_conflict']);
          const winner = results[0]?.kind === 'consumed' ? `race-a${round}` : `race-b${round}`;
          expect((await store.listCredentialsFor({ sellingPartnerId: seller })).map((c) => c.customerId)).toEqual([winner]);
          for (const attempt of [a, b]) expect((await attemptById(attempt.record.attemptId)).consumedAt).not.toBeNull();
        }
      });
    });

    // ---- startLoginUriAttempt -------------------------------------------------------------------------------

    describe('startLoginUriAttempt', () => {
      const DEFAULTS = { NA: 'US', EU: 'UK', JP: 'JP', AU: 'AU', SG: 'SG' } as const;
      function loginStart(sellingPartnerId: string, scope: CredentialScope | undefined, options: { now?: Date; marketplaces?: readonly string[] } = {}) {
        const now = options.now ?? at(1000);
        const stateHash = newHash();
        const input = {
          sellingPartnerId,
          scope,
          marketplaces: options.marketplaces ?? ['US', 'CA', 'DE', 'FR', 'UK', 'JP'],
          defaultMarketplaces: DEFAULTS,
          stateHash,
          browserBindingHash: newHash(),
          createdAt: now,
          expiresAt: later(now, TTL_SECONDS * 1000),
        };
        return { stateHash, result: store.startLoginUriAttempt(input) };
      }

      it("starts a reauthorize attempt for the one row holding the seller, with the row's marketplace, and writes no credential column", async () => {
        await authorize('cust-1', 'EU', 'APARTNER1', { marketplace: 'FR' });
        const before = await credential('cust-1', 'EU');
        const { stateHash, result } = loginStart('APARTNER1', undefined);
        expect(await result).toEqual({ kind: 'started', customerId: 'cust-1', scope: 'EU', marketplace: 'FR' });
        const attempt = await store.findAttemptByStateHash(stateHash);
        expect([attempt?.flow, attempt?.customerId, attempt?.scope, attempt?.marketplace, attempt?.expectedSellingPartnerId, attempt?.outcome]).toEqual([
          'reauthorize',
          'cust-1',
          'EU',
          'FR',
          'APARTNER1',
          'pending',
        ]);
        expect(await credential('cust-1', 'EU')).toEqual(before);
      });

      it("takes the scope's default marketplace when the row's is not in the list given", async () => {
        await authorize('cust-1', 'EU', 'APARTNER1', { marketplace: 'IT' });
        expect(await loginStart('APARTNER1', 'EU').result).toEqual({ kind: 'started', customerId: 'cust-1', scope: 'EU', marketplace: 'UK' });
      });

      it('answers unknown_seller, and writes nothing, for a seller no row holds (or none in the scope asked)', async () => {
        await authorize('cust-1', 'EU', 'APARTNER1');
        const attempts = await store.listAttempts();
        expect(await loginStart('APARTNER404', undefined).result).toEqual({ kind: 'unknown_seller' });
        expect(await loginStart('APARTNER1', 'NA').result).toEqual({ kind: 'unknown_seller' });
        expect(await store.listAttempts()).toEqual(attempts);
      });

      it('answers ambiguous, writing nothing, for a seller linked in two scopes when no scope is asked; a scope picks its row', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        await authorize('cust-2', 'EU', 'APARTNER1', { marketplace: 'DE' });
        const attempts = await store.listAttempts();
        expect(await loginStart('APARTNER1', undefined).result).toEqual({ kind: 'ambiguous' });
        expect(await store.listAttempts()).toEqual(attempts);
        expect(await loginStart('APARTNER1', 'EU').result).toEqual({ kind: 'started', customerId: 'cust-2', scope: 'EU', marketplace: 'DE' });
      });

      it('finds a row holding the seller in any status (a failed one too), as the Login URI always has', async () => {
        const { attempt, record: row } = await start('cust-1', 'JP');
        expect(await consume(attempt, 'APARTNER3')).toBe(true);
        expect(await record('cust-1', 'JP', 'APARTNER3')).toBe('recorded');
        await store.failAuthorization({ attemptId: row.attemptId, customerId: 'cust-1', scope: 'JP', failure: { reason: 'code_rejected' }, now: at(30) });
        expect((await credential('cust-1', 'JP')).status).toBe('failed');
        expect(await loginStart('APARTNER3', 'JP').result).toEqual({ kind: 'started', customerId: 'cust-1', scope: 'JP', marketplace: 'JP' });
      });

      it('answers too_many_open, writing nothing, at MAX_OPEN_ATTEMPTS open anonymous attempts of the row; signed ones do not count', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        for (let i = 0; i < MAX_OPEN_ATTEMPTS; i += 1) await start('cust-1', 'NA', { now: at(1000) });
        for (let i = 0; i < MAX_OPEN_ATTEMPTS; i += 1) expect((await loginStart('APARTNER1', 'NA').result).kind).toBe('started');
        const attempts = await store.listAttempts();
        expect(await loginStart('APARTNER1', 'NA').result).toEqual({ kind: 'too_many_open', customerId: 'cust-1', scope: 'NA' });
        expect(await store.listAttempts()).toEqual(attempts);
        expect((await loginStart('APARTNER1', 'NA', { now: at(1000 + TTL_SECONDS) }).result).kind).toBe('started');
      });
    });

    // ---- recordCallback -------------------------------------------------------------------------------------

    describe('recordCallback', () => {
      it('sets partner, code envelope and MWS token on a pending row; a later callback without MWS token keeps it', async () => {
        const { attempt } = await start('cust-1');
        expect(await consume(attempt, 'APARTNER1')).toBe(true);
        const code = envelope(LIMITS.encryptedCode, 'c');
        const mws = `amzn.mws.${'m'.repeat(LIMITS.mwsAuthToken - 9)}`;
        expect(await record('cust-1', 'NA', 'APARTNER1', { code, mws, now: at(20) })).toBe('recorded');

        let cred = await credential('cust-1');
        expect(cred.sellingPartnerId).toBe('APARTNER1');
        expect(cred.spapiOauthCode).toBe(code);
        expect(cred.mwsAuthToken).toBe(mws);
        expect(cred.status).toBe('pending');
        expect(cred.lwaRefreshToken).toBeNull();
        expect(iso(cred.updatedAt)).toBe(at(20).toISOString());

        const code2 = envelope(200, 'd');
        expect(await record('cust-1', 'NA', 'APARTNER2', { code: code2, now: at(40) })).toBe('recorded');
        cred = await credential('cust-1');
        expect(cred.sellingPartnerId).toBe('APARTNER2');
        expect(cred.spapiOauthCode).toBe(code2);
        expect(cred.mwsAuthToken).toBe(mws);
      });

      it('keeps the partner of an authorized row (a working token is never paired with another id)', async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1');
        const code = envelope(300, 'e');
        expect(await record('cust-1', 'NA', 'APARTNER2', { code, now: at(100) })).toBe('recorded');
        const cred = await credential('cust-1');
        expect(cred.sellingPartnerId).toBe('APARTNER1');
        expect(cred.status).toBe('authorized');
        expect(cred.lwaRefreshToken).toBe(token);
        expect(cred.spapiOauthCode).toBe(code);
        expect(await authorizedCustomer('APARTNER1', 'NA')).toBe('cust-1');
        expect(await authorizedCustomer('APARTNER2', 'NA')).toBeUndefined();
      });

      it('releases a partner held by another customer whose row is not authorized', async () => {
        const a = await start('cust-a');
        expect(await consume(a.attempt, 'APARTNER1')).toBe(true);
        expect(await record('cust-a', 'NA', 'APARTNER1')).toBe('recorded');
        expect((await credential('cust-a')).sellingPartnerId).toBe('APARTNER1');
        expect(await authorizedCustomer('APARTNER1', 'NA')).toBeUndefined();

        const b = await start('cust-b', 'NA', { now: at(1) });
        expect(await consume(b.attempt, 'APARTNER1', at(11))).toBe(true);
        expect(await record('cust-b', 'NA', 'APARTNER1', { now: at(60) })).toBe('recorded');
        expect((await credential('cust-a')).sellingPartnerId).toBeNull();
        expect((await credential('cust-b')).sellingPartnerId).toBe('APARTNER1');

        // The released customer can still complete with it later, taking it back from the pending one.
        expect(
          await completeGrant({
            attemptId: a.record.attemptId,
            customerId: 'cust-a',
            scope: 'NA',
            marketplace: 'US',
            sellingPartnerId: 'APARTNER1',
            encryptedRefreshToken: envelope(500),
            now: at(90),
          }),
        ).toBe('stored');
        expect((await credential('cust-b')).sellingPartnerId).toBeNull();
        expect((await credential('cust-a')).sellingPartnerId).toBe('APARTNER1');
      });
    });

    // ---- partner conflicts ----------------------------------------------------------------------------------

    describe('a selling partner authorized for one customer in a scope', () => {
      it('gives partner_conflict to another customer in that scope, changing nothing of theirs', async () => {
        const { token: tokenA } = await authorize('cust-a', 'NA', 'APARTNER1');
        const credA = await credential('cust-a');

        const b = await start('cust-b', 'NA', { now: at(100) });
        expect(await consume(b.attempt, 'APARTNER1', at(110))).toBe(true);
        const credB = await credential('cust-b');

        expect(await record('cust-b', 'NA', 'APARTNER1', { now: at(120), mws: 'amzn.mws.x' })).toBe('partner_conflict');
        expect(await credential('cust-b')).toEqual(credB);

        const completed = await completeGrant({
          attemptId: b.record.attemptId,
          customerId: 'cust-b',
          scope: 'NA',
          marketplace: 'US',
          sellingPartnerId: 'APARTNER1',
          encryptedRefreshToken: envelope(2800, 'b'),
          now: at(130),
        });
        expect(completed).toBe('partner_conflict');
        const afterB = await credential('cust-b');
        expect(afterB).toEqual(credB);
        expect(afterB.lwaRefreshToken).toBeNull();
        expect(afterB.status).toBe('pending');
        expect((await attemptById(b.record.attemptId)).outcome).toBe('pending');

        expect(await credential('cust-a')).toEqual(credA);
        expect((await credential('cust-a')).lwaRefreshToken).toBe(tokenA);
        expect(await authorizedCustomer('APARTNER1', 'NA')).toBe('cust-a');
      });

      it('keeps the refresh token of another customer that is already authorized with its own partner', async () => {
        await authorize('cust-a', 'NA', 'APARTNER1');
        const { token: tokenB } = await authorize('cust-b', 'NA', 'APARTNER2', { start: at(1000) });

        const b = await start('cust-b', 'NA', { now: at(2000) });
        expect(await consume(b.attempt, 'APARTNER1', at(2010))).toBe(true);
        // The flow checks for an authorized holder first (acceptCallback); whatever recordCallback answers here, B keeps its partner.
        await record('cust-b', 'NA', 'APARTNER1', { now: at(2020) });
        expect((await credential('cust-b')).sellingPartnerId).toBe('APARTNER2');

        const completed = await completeGrant({
          attemptId: b.record.attemptId,
          customerId: 'cust-b',
          scope: 'NA',
          marketplace: 'US',
          sellingPartnerId: 'APARTNER1',
          encryptedRefreshToken: envelope(2800, 'x'),
          now: at(2030),
        });
        expect(completed).toBe('partner_conflict');
        const credB = await credential('cust-b');
        expect(credB.lwaRefreshToken).toBe(tokenB);
        expect(credB.sellingPartnerId).toBe('APARTNER2');
        expect(credB.status).toBe('authorized');
        expect(await authorizedCustomer('APARTNER1', 'NA')).toBe('cust-a');
        expect(await authorizedCustomer('APARTNER2', 'NA')).toBe('cust-b');
      });

      it('does not stop another customer from authorizing it in another region', async () => {
        await authorize('cust-a', 'NA', 'APARTNER1');
        const { token } = await authorize('cust-b', 'EU', 'APARTNER1', { start: at(100) });
        expect(await authorizedCustomer('APARTNER1', 'NA')).toBe('cust-a');
        expect(await authorizedCustomer('APARTNER1', 'EU')).toBe('cust-b');
        expect(await authorizedCustomer('APARTNER1', 'JP')).toBeUndefined();
        expect((await credential('cust-b', 'EU')).lwaRefreshToken).toBe(token);
      });

      it('exactly one of two concurrent completions with the same partner is stored', async () => {
        const a = await start('cust-a');
        const b = await start('cust-b', 'NA', { now: at(1) });
        expect(await consume(a.attempt, 'APARTNER1')).toBe(true);
        expect(await consume(b.attempt, 'APARTNER1')).toBe(true);
        const complete = (customerId: string, attemptId: number) =>
          completeGrant({
            attemptId,
            customerId,
            scope: 'NA',
            marketplace: 'US',
            sellingPartnerId: 'APARTNER1',
            encryptedRefreshToken: envelope(2800, customerId.slice(-1)),
            now: at(60),
          });
        const results = await Promise.all([complete('cust-a', a.record.attemptId), complete('cust-b', b.record.attemptId)]);
        expect([...results].sort()).toEqual(['partner_conflict', 'stored']);
        const winner = results[0] === 'stored' ? 'cust-a' : 'cust-b';
        const loser = winner === 'cust-a' ? 'cust-b' : 'cust-a';
        expect(await authorizedCustomer('APARTNER1', 'NA')).toBe(winner);
        expect((await credential(loser)).lwaRefreshToken).toBeNull();
        expect((await credential(loser)).status).toBe('pending');
      });
    });

    // ---- completeAuthorization ------------------------------------------------------------------------------

    describe('completeAuthorization', () => {
      it('stores the envelope, marks the row authorized with dates and no error, and the attempt succeeded', async () => {
        const first = await start('cust-1', 'NA', { marketplace: 'US' });
        expect(await consume(first.attempt, 'APARTNER1')).toBe(true);
        await store.failAuthorization({ attemptId: first.record.attemptId, customerId: 'cust-1', scope: 'NA', failure: { reason: 'lwa_unavailable' }, now: at(30) });
        expect((await credential('cust-1')).lastError).toBe('lwa_unavailable');

        const second = await start('cust-1', 'NA', { marketplace: 'CA', now: at(100) });
        expect(await consume(second.attempt, 'APARTNER1', at(110))).toBe(true);
        expect(await record('cust-1', 'NA', 'APARTNER1', { now: at(120) })).toBe('recorded');
        const token = envelope(2800, 'z');
        expect(
          await completeGrant({
            attemptId: second.record.attemptId,
            customerId: 'cust-1',
            scope: 'NA',
            marketplace: 'CA',
            sellingPartnerId: 'APARTNER1',
            encryptedRefreshToken: token,
            now: at(130),
          }),
        ).toBe('stored');

        const cred = await credential('cust-1');
        expect(cred.status).toBe('authorized');
        expect(cred.lwaRefreshToken).toBe(token);
        expect(cred.hasRefreshToken).toBe(true);
        expect(cred.lastError).toBeNull();
        expect(cred.sellingPartnerId).toBe('APARTNER1');
        expect(cred.marketplace).toBe('CA');
        expect(iso(cred.authGrantedDate)).toBe(at(130).toISOString());
        expect(iso(cred.lwaRefreshTokenDate)).toBe(at(130).toISOString());
        expect(iso(cred.updatedAt)).toBe(at(130).toISOString());
        expect(iso(cred.authRequestedDate)).toBe(at(100).toISOString());

        const attempt = await attemptById(second.record.attemptId);
        expect(attempt.outcome).toBe('succeeded');
        expect(attempt.reason).toBeNull();
        expect(iso(attempt.completedAt)).toBe(at(130).toISOString());
        expect((await attemptById(first.record.attemptId)).outcome).toBe('failed');
        expect(await authorizedCustomer('APARTNER1', 'NA')).toBe('cust-1');
      });

      it('is whole or nothing: without a credential row it fails, releases nothing, and the attempt stays pending', async () => {
        const holder = await start('cust-holder', 'NA', { now: at(-100) });
        expect(await consume(holder.attempt, 'APARTNER1', at(-90))).toBe(true);
        expect(await record('cust-holder', 'NA', 'APARTNER1', { now: at(-80) })).toBe('recorded');
        const holderBefore = await credential('cust-holder');
        const { record: row } = await start('cust-1');
        await expect(
          completeGrant({
            attemptId: row.attemptId,
            customerId: 'cust-missing',
            scope: 'NA',
            marketplace: 'US',
            sellingPartnerId: 'APARTNER1',
            encryptedRefreshToken: envelope(100),
            now: at(30),
          }),
        ).rejects.toThrow();
        expect((await attemptById(row.attemptId)).outcome).toBe('pending');
        expect(await store.findCredential('cust-missing', 'NA')).toBeUndefined();
        expect(await credential('cust-holder')).toEqual(holderBefore);
      });

      it('treats each scope of a customer as its own row (a Far East marketplace too)', async () => {
        const na = await authorize('cust-1', 'NA', 'APARTNER1');
        const eu = await start('cust-1', 'EU', { now: at(100) });
        const fe = await authorize('cust-1', 'JP', 'APARTNER2', { start: at(200) });
        const euBefore = await credential('cust-1', 'EU');
        expect(await consume(eu.attempt, 'APARTNER3', at(110))).toBe(true);
        await store.failAuthorization({ attemptId: eu.record.attemptId, customerId: 'cust-1', scope: 'EU', failure: { reason: 'code_rejected' }, now: at(300) });
        expect(await record('cust-1', 'EU', 'APARTNER3', { now: at(310) })).toBe('recorded');

        const naRow = await credential('cust-1', 'NA');
        const feRow = await credential('cust-1', 'JP');
        expect([naRow.status, naRow.sellingPartnerId, naRow.lwaRefreshToken, naRow.lastError]).toEqual(['authorized', 'APARTNER1', na.token, null]);
        expect([feRow.status, feRow.sellingPartnerId, feRow.lwaRefreshToken, feRow.lastError]).toEqual(['authorized', 'APARTNER2', fe.token, null]);
        expect(iso(naRow.updatedAt)).toBe(at(30).toISOString());
        const euRow = await credential('cust-1', 'EU');
        expect([euRow.status, euRow.sellingPartnerId, euRow.lastError]).toEqual(['failed', 'APARTNER3', 'code_rejected']);
        expect(euBefore.status).toBe('pending');
      });

      it('replaces the token of an authorized row on re-authorization', async () => {
        await authorize('cust-1', 'JP', 'APARTNER1');
        const { token } = await authorize('cust-1', 'JP', 'APARTNER1', { start: at(1000), token: envelope(1500, 'n') });
        const cred = await credential('cust-1', 'JP');
        expect(cred.lwaRefreshToken).toBe(token);
        expect(iso(cred.lwaRefreshTokenDate)).toBe(at(1030).toISOString());
      });

      it("stores the refresh token's fingerprint with it, and refuses a second row holding the same fingerprint (the unique index), writing nothing", async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1');
        expect((await store.listSecretEnvelopes()).map((e) => e.refreshTokenFingerprint)).toEqual([fingerprintOf(token)]);
        const { attempt, record: row } = await start('cust-2', 'EU', { now: at(100) });
        expect(await consume(attempt, 'APARTNER2', at(110))).toBe(true);
        const before = { ...(await snapshot()), events: await store.listEvents() };
        // The same refresh token again (another envelope of it), for another customer, scope and seller.
        const refused = await completeGrant({
          attemptId: row.attemptId,
          customerId: 'cust-2',
          scope: 'EU',
          marketplace: 'DE',
          sellingPartnerId: 'APARTNER2',
          encryptedRefreshToken: envelope(2800, 'd'),
          refreshTokenFingerprint: fingerprintOf(token),
          now: at(130),
        });
        expect(refused).toBe('partner_conflict');
        expect({ ...(await snapshot()), events: await store.listEvents() }).toEqual(before);
        expect((await credential('cust-2', 'EU')).status).toBe('pending');
        expect((await attemptById(row.attemptId)).outcome).toBe('pending');
      });
    });

    // ---- failAuthorization ----------------------------------------------------------------------------------

    describe('failAuthorization', () => {
      it('marks a pending row failed with last_error and the attempt failed with the LWA details', async () => {
        const { attempt, record: row } = await start('cust-1');
        expect(await consume(attempt, 'APARTNER1')).toBe(true);
        const failure = { reason: 'code_rejected', lwaError: 'invalid_grant', lwaErrorDescription: 'The authorization code is invalid' };
        await store.failAuthorization({ attemptId: row.attemptId, customerId: 'cust-1', scope: 'NA', failure, now: at(40) });

        const cred = await credential('cust-1');
        expect(cred.status).toBe('failed');
        expect(cred.lastError).toBe(formatLastError(failure));
        expect(cred.lastError).toBe('code_rejected (invalid_grant: The authorization code is invalid)');
        expect(iso(cred.updatedAt)).toBe(at(40).toISOString());

        const failed = await attemptById(row.attemptId);
        expect(failed.outcome).toBe('failed');
        expect(failed.reason).toBe('code_rejected');
        expect(failed.lwaError).toBe('invalid_grant');
        expect(failed.lwaErrorDescription).toBe('The authorization code is invalid');
        expect(iso(failed.completedAt)).toBe(at(40).toISOString());
      });

      it('keeps an authorized row authorized, with its token, and sets last_error', async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1');
        const { attempt, record: row } = await start('cust-1', 'NA', { now: at(1000) });
        expect(await consume(attempt, 'APARTNER1', at(1010))).toBe(true);
        await store.failAuthorization({ attemptId: row.attemptId, customerId: 'cust-1', scope: 'NA', failure: { reason: 'lwa_unavailable' }, now: at(1040) });

        const cred = await credential('cust-1');
        expect(cred.status).toBe('authorized');
        expect(cred.lwaRefreshToken).toBe(token);
        expect(cred.sellingPartnerId).toBe('APARTNER1');
        expect(cred.lastError).toBe('lwa_unavailable');
        const failed = await attemptById(row.attemptId);
        expect(failed.outcome).toBe('failed');
        expect(failed.lwaError).toBeNull();
        expect(failed.lwaErrorDescription).toBeNull();
      });

      it('caps last_error at LIMITS.lastError and keeps LWA details at their limits', async () => {
        const { attempt, record: row } = await start('cust-1');
        expect(await consume(attempt, 'APARTNER1')).toBe(true);
        const failure = { reason: 'code_rejected', lwaError: 'e'.repeat(LIMITS.lwaError), lwaErrorDescription: `${'d'.repeat(LIMITS.lwaErrorDescription - 1)}é` };
        await store.failAuthorization({ attemptId: row.attemptId, customerId: 'cust-1', scope: 'NA', failure, now: at(40) });
        const failed = await attemptById(row.attemptId);
        expect(failed.lwaError).toBe(failure.lwaError);
        expect(failed.lwaErrorDescription).toBe(failure.lwaErrorDescription);

        const second = await start('cust-1', 'NA', { now: at(100) });
        expect(await consume(second.attempt, 'APARTNER1', at(110))).toBe(true);
        const long = { reason: 'r'.repeat(LIMITS.lastError + 500) };
        await store.failAuthorization({ attemptId: second.record.attemptId, customerId: 'cust-1', scope: 'NA', failure: long, now: at(140) });
        const cred = await credential('cust-1');
        expect(cred.lastError).toBe(formatLastError(long));
        expect(cred.lastError).toHaveLength(LIMITS.lastError);
      });
    });

    // ---- recordRefusedCallback ------------------------------------------------------------------------------

    describe('recordRefusedCallback', () => {
      it('inserts a refused callback row naming the related attempt, counts it there, and changes nothing else', async () => {
        const { attempt, record: related } = await start('cust-1', 'EU', { marketplace: 'IT' });
        expect(await consume(attempt, 'APARTNER1')).toBe(true);
        expect(await record('cust-1', 'EU', 'APARTNER1')).toBe('recorded');
        const relatedBefore = await attemptById(related.attemptId);
        const credBefore = await credential('cust-1', 'EU');

        expect(await store.recordRefusedCallback({ related: relatedBefore, sellingPartnerId: 'APARTNER9', reason: 'browser_mismatch', now: at(300) })).toBe(true);

        expect(await attemptById(related.attemptId)).toEqual({ ...relatedBefore, refusalCount: 1 });
        expect(await credential('cust-1', 'EU')).toEqual(credBefore);
        const attempts = await store.listAttempts({ customerId: 'cust-1' });
        expect(attempts).toHaveLength(2);
        const refused = attempts[1];
        expect(refused).toBeDefined();
        expect(refused?.attemptId).toBeGreaterThan(related.attemptId);
        expect({ ...refused, attemptId: 0, createdAt: iso(refused?.createdAt), completedAt: iso(refused?.completedAt) }).toEqual({
          attemptId: 0,
          stateHash: null,
          browserBindingHash: null,
          flow: 'callback',
          customerId: 'cust-1',
          scope: 'EU',
          region: 'EU',
          marketplace: 'IT',
          sellingPartnerId: 'APARTNER9',
          expectedSellingPartnerId: null,
          codeHash: null,
          createdAt: at(300).toISOString(),
          expiresAt: null,
          consumedAt: null,
          exchangeDeadline: null,
          completedAt: at(300).toISOString(),
          outcome: 'refused',
          reason: 'browser_mismatch',
          lwaError: null,
          lwaErrorDescription: null,
          relatedAttemptId: related.attemptId,
          refusalCount: 0,
        });
      });

      it(`records at most ${MAX_REFUSALS_PER_ATTEMPT} refusals per attempt, also when they arrive at once`, async () => {
        const { record: related } = await start('cust-1', 'NA');
        const other = await start('cust-2', 'NA');
        const results = await Promise.all(
          Array.from({ length: MAX_REFUSALS_PER_ATTEMPT + 15 }, (_, i) =>
            store.recordRefusedCallback({ related, sellingPartnerId: 'APARTNER1', reason: 'browser_mismatch', now: at(10 + i) }),
          ),
        );
        expect(results.filter((r) => r)).toHaveLength(MAX_REFUSALS_PER_ATTEMPT);
        expect(await store.recordRefusedCallback({ related, sellingPartnerId: undefined, reason: 'state_expired', now: at(100) })).toBe(false);
        const refusals = (await store.listAttempts()).filter((a) => a.relatedAttemptId === related.attemptId);
        expect(refusals).toHaveLength(MAX_REFUSALS_PER_ATTEMPT);
        expect((await attemptById(related.attemptId)).refusalCount).toBe(MAX_REFUSALS_PER_ATTEMPT);
        // Another attempt's budget is its own.
        expect(await store.recordRefusedCallback({ related: other.record, sellingPartnerId: undefined, reason: 'state_expired', now: at(100) })).toBe(true);
      });
    });

    // ---- limits ---------------------------------------------------------------------------------------------

    describe('column limits', () => {
      it(`round-trips a ${LIMITS.encryptedRefreshToken}-character refresh token envelope and every other value at its limit`, async () => {
        const customerId = 'c'.repeat(LIMITS.customerId);
        const partner = 'A'.repeat(LIMITS.sellingPartnerId);
        const token = envelope(LIMITS.encryptedRefreshToken, 'T');
        const code = envelope(LIMITS.encryptedCode, 'C');
        const mws = envelope(LIMITS.encryptedMwsAuthToken, 'M');
        const { attempt, record: row } = await start(customerId);
        expect(await consume(attempt, partner)).toBe(true);
        expect(await record(customerId, 'NA', partner, { code, mws })).toBe('recorded');
        expect(
          await completeGrant({
            attemptId: row.attemptId,
            customerId,
            scope: 'NA',
            marketplace: 'US',
            sellingPartnerId: partner,
            encryptedRefreshToken: token,
            now: at(30),
          }),
        ).toBe('stored');
        const cred = await credential(customerId);
        expect(cred.customerId).toBe(customerId);
        expect(cred.lwaRefreshToken).toBe(token);
        expect(cred.lwaRefreshToken).toHaveLength(LIMITS.encryptedRefreshToken);
        expect(cred.spapiOauthCode).toBe(code);
        expect(cred.mwsAuthToken).toBe(mws);
        expect(cred.sellingPartnerId).toBe(partner);
        expect((await attemptById(row.attemptId)).sellingPartnerId).toBe(partner);
      });

      it('stores and gives back the longest refresh token the LWA client accepts, sealed with the longest key id', async () => {
        const cipher = new TokenCipher({ current: { kid: 'k'.repeat(32), key: Buffer.alloc(32, 7) }, byKid: new Map([['k'.repeat(32), { kid: 'k'.repeat(32), key: Buffer.alloc(32, 7) }]]) });
        const longest = `Atzr|${'x'.repeat(MAX_REFRESH_TOKEN_LENGTH - 5)}`;
        expect(longest).toHaveLength(MAX_REFRESH_TOKEN_LENGTH);
        const sealed = cipher.encrypt(longest, { column: 'lwa_refresh_token', customerId: 'cust-long', region: 'EU' });
        expect(sealed.length).toBeLessThanOrEqual(LIMITS.encryptedRefreshToken);
        await authorize('cust-long', 'EU', 'APARTNER1', { token: sealed });
        const stored = (await credential('cust-long', 'EU')).lwaRefreshToken ?? '';
        expect(stored).toBe(sealed);
        expect(cipher.decrypt(stored, { column: 'lwa_refresh_token', customerId: 'cust-long', region: 'EU' })).toBe(longest);
      });

      it('refuses values past the limits and leaves the rows as they were', async () => {
        await expect(start('c'.repeat(LIMITS.customerId + 1))).rejects.toThrow();
        expect(await store.listCredentials()).toEqual([]);
        expect(await store.listAttempts()).toEqual([]);

        const { attempt, record: row } = await start('cust-1');
        expect(await consume(attempt, 'APARTNER1')).toBe(true);
        const before = await credential('cust-1');
        await expect(
          completeGrant({
            attemptId: row.attemptId,
            customerId: 'cust-1',
            scope: 'NA',
            marketplace: 'US',
            sellingPartnerId: 'APARTNER1',
            encryptedRefreshToken: envelope(LIMITS.encryptedRefreshToken + 1),
            now: at(30),
          }),
        ).rejects.toThrow();
        await expect(record('cust-1', 'NA', 'APARTNER1', { code: envelope(LIMITS.encryptedCode + 1) })).rejects.toThrow();
        await expect(record('cust-1', 'NA', 'A'.repeat(LIMITS.sellingPartnerId + 1))).rejects.toThrow();
        await expect(record('cust-1', 'NA', 'APARTNER1', { mws: envelope(LIMITS.encryptedMwsAuthToken + 1) })).rejects.toThrow();
        expect(await credential('cust-1')).toEqual(before);
        expect((await attemptById(row.attemptId)).outcome).toBe('pending');
      });
    });

    // ---- reading --------------------------------------------------------------------------------------------

    describe('listCredentials / findCredential / listAttempts', () => {
      it('return the documented shapes: summaries without secrets, newest first; attempts by id', async () => {
        await authorize('cust-a', 'NA', 'APARTNER1', { start: at(0) });
        await start('cust-b', 'EU', { now: at(100) });
        await start('cust-c', 'JP', { now: at(200) });

        const list = await store.listCredentials();
        expect(list.map((c) => `${c.customerId}/${c.scope}`)).toEqual(['cust-c/JP', 'cust-b/EU', 'cust-a/NA']);
        for (const summary of list) {
          expect(Object.keys(summary).sort()).toEqual(SUMMARY_KEYS);
          expect(summary.updatedAt).toBeInstanceOf(Date);
          for (const key of SECRET_KEYS) expect(summary).not.toHaveProperty(key);
        }
        const a: CredentialSummary | undefined = list.find((c) => c.customerId === 'cust-a');
        expect(a?.hasRefreshToken).toBe(true);
        expect(a?.authGrantedDate).toBeInstanceOf(Date);
        expect(list.find((c) => c.customerId === 'cust-b')?.hasRefreshToken).toBe(false);

        const found = await credential('cust-a');
        expect(Object.keys(found).sort()).toEqual([...SUMMARY_KEYS, ...SECRET_KEYS].sort());
        expect(await store.findCredential('cust-a', 'EU')).toBeUndefined();
        expect(await store.findCredential('nobody', 'NA')).toBeUndefined();

        const attempts = await store.listAttempts();
        expect(attempts).toHaveLength(3);
        const ids = attempts.map((x) => x.attemptId);
        expect(ids).toEqual([...ids].sort((x, y) => x - y));
        for (const attempt of attempts) {
          expect(Object.keys(attempt).sort()).toEqual(ATTEMPT_KEYS);
          expect(typeof attempt.attemptId).toBe('number');
          expect(attempt.createdAt).toBeInstanceOf(Date);
        }
        expect((await store.listAttempts({ customerId: 'cust-b' })).map((x) => x.customerId)).toEqual(['cust-b']);
        expect(await store.listAttempts({ customerId: 'nobody' })).toEqual([]);
        expect(await authorizedCustomer('APARTNER1', 'NA')).toBe('cust-a');
        expect(await authorizedCustomer('APARTNER404', 'NA')).toBeUndefined();
      });

      it('answers ping', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });

      it('checkHealth takes the heartbeat write and finds the schema current', async () => {
        const health = await store.checkHealth({ now: T0, sampleSize: 5 });
        expect(health.writeRefused).toBeUndefined();
        expect(health.schemaBehind).toBeUndefined();
        expect(health.samples).toEqual([]);
        // The write is repeatable (the row is moved, not inserted again).
        expect((await store.checkHealth({ now: at(1), sampleSize: 5 })).writeRefused).toBeUndefined();
      });

      it('checkHealth samples the newest and the oldest stored refresh-token envelopes, each with the row it is bound to', async () => {
        const tokens: string[] = [];
        for (let i = 0; i < 5; i += 1) {
          tokens.push((await authorize(`health-${i}`, 'EU', `AHEALTH${i}`, { start: at(i * 60), token: envelope(200, String(i)) })).token);
        }
        const health = await store.checkHealth({ now: at(600), sampleSize: 2 });
        expect(health.samples.map((s) => s.customerId).sort()).toEqual(['health-0', 'health-1', 'health-3', 'health-4']);
        expect(health.samples.find((s) => s.customerId === 'health-4')).toEqual({ customerId: 'health-4', region: 'EU', envelope: tokens[4] });
      });

      it('checkHealth refuses a sample size outside 1 to 20', async () => {
        await expect(store.checkHealth({ now: T0, sampleSize: 0 })).rejects.toThrow(/sample size/);
      });
    });

    // ---- markRevoked ----------------------------------------------------------------------------------------

    async function revoke(
      customerId: string,
      scope: CredentialScope,
      expectedRefreshToken: string,
      options: { now?: Date; failure?: FailureDetails } = {},
    ): Promise<boolean> {
      return store.markRevoked({ customerId, scope, expectedRefreshToken, failure: options.failure ?? REVOKED, now: options.now ?? at(5000) });
    }

    /** Every row, secrets included, and every attempt: to show that a call changed nothing at all. */
    async function snapshot(): Promise<{ rows: (CredentialSummary & CredentialSecrets)[]; attempts: AttemptRecord[] }> {
      const summaries = await store.listCredentials();
      const rows = await Promise.all(summaries.map((c) => credential(c.customerId, c.scope)));
      return { rows: rows.sort((x, y) => (rowKey(x) < rowKey(y) ? -1 : 1)), attempts: await store.listAttempts() };
    }

    describe('markRevoked', () => {
      it('marks the authorized row holding that envelope revoked, keeps the envelope, and records a refresh attempt', async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1', { marketplace: 'CA' });
        await authorize('cust-2', 'NA', 'APARTNER2', { start: at(100) });
        await authorize('cust-1', 'EU', 'APARTNER1', { start: at(200) });
        const before = await credential('cust-1');
        const otherCustomer = await credential('cust-2');
        const otherRegion = await credential('cust-1', 'EU');
        const attemptsBefore = await store.listAttempts();

        expect(await revoke('cust-1', 'NA', token, { now: at(5000) })).toBe(true);

        const after = await credential('cust-1');
        expect(after).toEqual({ ...before, status: 'revoked', lastError: formatLastError(REVOKED), revokedAt: at(5000), updatedAt: at(5000) });
        expect(before.revokedAt).toBeNull();
        expect(after.lastError).toBe('authorization_revoked (invalid_grant: The request has an invalid grant parameter : refresh_token)');
        expect(after.lwaRefreshToken).toBe(token);
        expect(after.hasRefreshToken).toBe(true);
        expect(after.sellingPartnerId).toBe('APARTNER1');
        expect(await credential('cust-2')).toEqual(otherCustomer);
        expect(await credential('cust-1', 'EU')).toEqual(otherRegion);

        const attempts = await store.listAttempts();
        expect(attempts).toHaveLength(attemptsBefore.length + 1);
        expect(attempts.slice(0, attemptsBefore.length)).toEqual(attemptsBefore);
        const audit = attempts.at(-1);
        expect(audit?.attemptId).toBeGreaterThan(Math.max(...attemptsBefore.map((a) => a.attemptId)));
        expect({ ...audit, attemptId: 0, createdAt: iso(audit?.createdAt), completedAt: iso(audit?.completedAt) }).toEqual({
          attemptId: 0,
          stateHash: null,
          browserBindingHash: null,
          flow: 'refresh',
          customerId: 'cust-1',
          scope: 'NA',
          region: 'NA',
          marketplace: 'CA',
          sellingPartnerId: 'APARTNER1',
          expectedSellingPartnerId: null,
          codeHash: null,
          createdAt: at(5000).toISOString(),
          expiresAt: null,
          consumedAt: null,
          exchangeDeadline: null,
          completedAt: at(5000).toISOString(),
          outcome: 'failed',
          reason: 'authorization_revoked',
          lwaError: 'invalid_grant',
          lwaErrorDescription: REVOKED.lwaErrorDescription,
          relatedAttemptId: null,
          refusalCount: 0,
        });

        // 'revoked' and 'refresh' read back through every listing.
        expect((await store.listCredentials()).find((c) => rowKey(c) === 'cust-1/NA')?.status).toBe('revoked');
        expect((await store.listCredentialsFor({ customerId: 'cust-1' })).find((c) => c.scope === 'NA')?.status).toBe('revoked');
        expect((await store.listAttempts({ customerId: 'cust-1' })).at(-1)?.flow).toBe('refresh');

        // No authorized customer is found for the revoked row; the other rows are still found.
        expect(await authorizedCustomer('APARTNER1', 'NA')).toBeUndefined();
        expect(await authorizedCustomer('APARTNER1', 'EU')).toBe('cust-1');
        expect(await authorizedCustomer('APARTNER2', 'NA')).toBe('cust-2');

        // Once: the row is no longer authorized, so a second refusal of the same envelope marks nothing.
        const once = await snapshot();
        expect(await revoke('cust-1', 'NA', token, { now: at(6000) })).toBe(false);
        expect(await snapshot()).toEqual(once);
      });

      it('returns false and changes nothing when the row holds another envelope (a re-authorization stored a new one)', async () => {
        const first = await authorize('cust-1', 'NA', 'APARTNER1');
        const second = await authorize('cust-1', 'NA', 'APARTNER1', { start: at(1000), token: envelope(2800, 's') });
        const before = await snapshot();

        expect(await revoke('cust-1', 'NA', first.token)).toBe(false);
        // Exactly that envelope: not the same letters in another case, not with a trailing space, not a prefix.
        expect(await revoke('cust-1', 'NA', second.token.toUpperCase())).toBe(false);
        expect(await revoke('cust-1', 'NA', `${second.token} `)).toBe(false);
        expect(await revoke('cust-1', 'NA', second.token.slice(0, -1))).toBe(false);
        expect(await snapshot()).toEqual(before);

        expect(await revoke('cust-1', 'NA', second.token)).toBe(true);
        expect((await credential('cust-1')).status).toBe('revoked');
      });

      it('returns false and changes nothing for a row that is not authorized, and for an unknown row', async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1');
        expect(await revoke('cust-1', 'NA', token)).toBe(true);
        await start('cust-1', 'NA', { now: at(6000) });
        expect((await credential('cust-1')).status).toBe('revoked');
        const failed = await start('cust-2', 'NA', { now: at(6100) });
        expect(await consume(failed.attempt, 'APARTNER2', at(6110))).toBe(true);
        await store.failAuthorization({ attemptId: failed.record.attemptId, customerId: 'cust-2', scope: 'NA', failure: { reason: 'code_rejected' }, now: at(6120) });
        expect((await credential('cust-2')).status).toBe('failed');
        const before = await snapshot();

        expect(await revoke('cust-1', 'NA', token, { now: at(7000) })).toBe(false);
        expect(await revoke('cust-2', 'NA', token, { now: at(7000) })).toBe(false);
        expect(await revoke('cust-1', 'EU', token, { now: at(7000) })).toBe(false);
        expect(await revoke('CUST-1', 'NA', token, { now: at(7000) })).toBe(false);
        expect(await revoke('nobody', 'NA', token, { now: at(7000) })).toBe(false);
        expect(await snapshot()).toEqual(before);
      });

      it("clips Amazon's error to the column limits, and stores no error when Amazon sent none", async () => {
        const one = await authorize('cust-1', 'NA', 'APARTNER1');
        const two = await authorize('cust-2', 'NA', 'APARTNER2', { start: at(100) });
        const long = {
          reason: 'authorization_revoked',
          lwaError: 'e'.repeat(LIMITS.lwaError + 20),
          lwaErrorDescription: 'd'.repeat(LIMITS.lwaErrorDescription + 100),
        };
        expect(await revoke('cust-1', 'NA', one.token, { failure: long })).toBe(true);
        expect(await revoke('cust-2', 'NA', two.token, { failure: { reason: 'authorization_revoked' } })).toBe(true);

        const [auditOne] = (await store.listAttempts({ customerId: 'cust-1' })).filter((a) => a.flow === 'refresh');
        expect(auditOne?.lwaError).toBe('e'.repeat(LIMITS.lwaError));
        expect(auditOne?.lwaErrorDescription).toBe('d'.repeat(LIMITS.lwaErrorDescription));
        expect((await credential('cust-1')).lastError).toBe(formatLastError(long));

        const [auditTwo] = (await store.listAttempts({ customerId: 'cust-2' })).filter((a) => a.flow === 'refresh');
        expect([auditTwo?.reason, auditTwo?.lwaError, auditTwo?.lwaErrorDescription]).toEqual(['authorization_revoked', null, null]);
        expect((await credential('cust-2')).lastError).toBe('authorization_revoked');
      });

      it('a revoked row stays revoked when an attempt starts, and can be authorized again', async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1');
        expect(await revoke('cust-1', 'NA', token)).toBe(true);

        await start('cust-1', 'NA', { marketplace: 'MX', now: at(6000) });
        await start('cust-1', 'NA', { flow: 'reauthorize', expectedSellingPartnerId: 'APARTNER1', now: at(6001) });
        const restarted = await credential('cust-1');
        expect(restarted.status).toBe('revoked');
        expect(restarted.marketplace).toBe('US');
        expect(restarted.lwaRefreshToken).toBe(token);
        expect(iso(restarted.authRequestedDate)).toBe(at(6000).toISOString());
        expect(await authorizedCustomer('APARTNER1', 'NA')).toBeUndefined();

        const again = await authorize('cust-1', 'NA', 'APARTNER1', { start: at(7000), token: envelope(2800, 'r') });
        const cred = await credential('cust-1');
        expect([cred.status, cred.lwaRefreshToken, cred.lastError]).toEqual(['authorized', again.token, null]);
        expect(await authorizedCustomer('APARTNER1', 'NA')).toBe('cust-1');
      });

      it("does not keep another customer from the revoked row's partner: recordCallback and completeAuthorization release it", async () => {
        const na = await authorize('cust-a', 'NA', 'APARTNER1');
        const eu = await authorize('cust-a', 'EU', 'APARTNER1', { start: at(100) });
        expect(await revoke('cust-a', 'NA', na.token)).toBe(true);
        expect(await revoke('cust-a', 'EU', eu.token)).toBe(true);

        // NA: the callback of another customer takes the partner.
        const b = await start('cust-b', 'NA', { now: at(6000) });
        expect(await consume(b.attempt, 'APARTNER1', at(6010))).toBe(true);
        expect(await record('cust-b', 'NA', 'APARTNER1', { now: at(6020) })).toBe('recorded');
        const released = await credential('cust-a', 'NA');
        expect([released.sellingPartnerId, released.status, released.lwaRefreshToken]).toEqual([null, 'revoked', na.token]);
        expect(
          await completeGrant({
            attemptId: b.record.attemptId,
            customerId: 'cust-b',
            scope: 'NA',
            marketplace: 'US',
            sellingPartnerId: 'APARTNER1',
            encryptedRefreshToken: envelope(2800, 'b'),
            now: at(6030),
          }),
        ).toBe('stored');
        expect(await authorizedCustomer('APARTNER1', 'NA')).toBe('cust-b');

        // EU: completeAuthorization alone (no callback recorded first) takes it too.
        const c = await start('cust-c', 'EU', { now: at(7000) });
        expect(await consume(c.attempt, 'APARTNER1', at(7010))).toBe(true);
        expect((await credential('cust-a', 'EU')).sellingPartnerId).toBe('APARTNER1');
        expect(
          await completeGrant({
            attemptId: c.record.attemptId,
            customerId: 'cust-c',
            scope: 'EU',
            marketplace: 'DE',
            sellingPartnerId: 'APARTNER1',
            encryptedRefreshToken: envelope(2800, 'c'),
            now: at(7030),
          }),
        ).toBe('stored');
        const releasedEu = await credential('cust-a', 'EU');
        expect([releasedEu.sellingPartnerId, releasedEu.status, releasedEu.lwaRefreshToken]).toEqual([null, 'revoked', eu.token]);
        expect(await authorizedCustomer('APARTNER1', 'EU')).toBe('cust-c');
      });
    });

    // ---- restoreRevoked -------------------------------------------------------------------------------------

    describe('restoreRevoked', () => {
      const restore = (customerId: string, scope: CredentialScope, expectedRefreshToken: string, now: Date = at(6000)) =>
        store.restoreRevoked({ customerId, scope, expectedRefreshToken, now });

      it('authorizes again the revoked row holding exactly that envelope, its grant as it was: an audit, authorization.restored, the shared token deleted', async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1', { marketplace: 'CA' });
        await authorize('cust-2', 'NA', 'APARTNER2', { start: at(100) });
        const granted = await credential('cust-1');
        const other = await credential('cust-2');
        expect(await revoke('cust-1', 'NA', token, { now: at(5000) })).toBe(true);
        // An instance claiming a lease meanwhile leaves a shared row behind: a restored grant must not serve it.
        expect(await store.claimAccessTokenLease({ customerId: 'cust-1', scope: 'NA', owner: 'a', now: at(5100), until: at(5130) })).toBe(true);
        expect((await store.readAccessTokenSource('cust-1', 'NA'))?.shared).toBeDefined();
        const attemptsBefore = await store.listAttempts();
        const eventsBefore = await store.listEvents();
        expect(attemptsBefore.at(-1)).toMatchObject({ flow: 'refresh', outcome: 'failed', reason: 'authorization_revoked' });

        expect(await restore('cust-1', 'NA', token, at(6000))).toBe(true);

        const restored = await credential('cust-1');
        expect(restored).toEqual({ ...granted, updatedAt: at(6000) });
        expect([restored.status, restored.revokedAt, restored.lastError, restored.lwaRefreshToken]).toEqual(['authorized', null, null, token]);
        expect(await credential('cust-2')).toEqual(other);
        expect(await authorizedCustomer('APARTNER1', 'NA')).toBe('cust-1');

        // The revocation stays in the attempts; the restoration is a refresh attempt of its own.
        const attempts = await store.listAttempts();
        expect(attempts.slice(0, attemptsBefore.length)).toEqual(attemptsBefore);
        expect(attempts).toHaveLength(attemptsBefore.length + 1);
        const audit = attempts.at(-1);
        expect({ ...audit, attemptId: 0, createdAt: iso(audit?.createdAt), completedAt: iso(audit?.completedAt) }).toEqual({
          attemptId: 0,
          stateHash: null,
          browserBindingHash: null,
          flow: 'refresh',
          customerId: 'cust-1',
          scope: 'NA',
          region: 'NA',
          marketplace: 'CA',
          sellingPartnerId: 'APARTNER1',
          expectedSellingPartnerId: null,
          codeHash: null,
          createdAt: at(6000).toISOString(),
          expiresAt: null,
          consumedAt: null,
          exchangeDeadline: null,
          completedAt: at(6000).toISOString(),
          outcome: 'succeeded',
          reason: 'revocation_withdrawn',
          lwaError: null,
          lwaErrorDescription: null,
          relatedAttemptId: null,
          refusalCount: 0,
        });

        const events = await store.listEvents();
        expect(events.slice(0, eventsBefore.length)).toEqual(eventsBefore);
        expect(events.slice(eventsBefore.length).map((e) => [e.type, e.customerId, e.scope, e.region, e.sellingPartnerId, iso(e.occurredAt), JSON.parse(e.data) as unknown])).toEqual([
          ['authorization.restored', 'cust-1', 'NA', 'NA', 'APARTNER1', at(6000).toISOString(), { reason: 'revocation_withdrawn' }],
        ]);
        expect((await store.readAccessTokenSource('cust-1', 'NA'))?.shared).toBeUndefined();

        // Its 365-day clock runs from the grant, as before the refusal.
        const [status] = await store.listCredentialStatus({ customerId: 'cust-1' }, at(7000));
        expect([status?.status, status?.revokedAt, status?.reauthorizeBy]).toEqual(['authorized', null, later(at(30), REAUTHORIZE_AFTER_DAYS * DAY_MS)]);

        // Once: the row is authorized now, so a second call restores nothing.
        const once = { ...(await snapshot()), events: await store.listEvents() };
        expect(await restore('cust-1', 'NA', token, at(6100))).toBe(false);
        expect({ ...(await snapshot()), events: await store.listEvents() }).toEqual(once);
      });

      it('changes nothing for a row that is not revoked, for another envelope, another scope or customer, and an unlinked row', async () => {
        const one = await authorize('cust-1', 'NA', 'APARTNER1');
        const two = await authorize('cust-2', 'NA', 'APARTNER2', { start: at(100) });
        expect(await revoke('cust-2', 'NA', two.token)).toBe(true);
        const four = await authorize('cust-4', 'NA', 'APARTNER4', { start: at(200) });
        expect(await revoke('cust-4', 'NA', four.token)).toBe(true);
        expect((await store.unlinkCredential({ customerId: 'cust-4', scope: 'NA', now: at(5500) })).kind).toBe('unlinked');
        await start('cust-3', 'NA', { now: at(300) });
        const before = { ...(await snapshot()), events: await store.listEvents() };

        expect(await restore('cust-1', 'NA', one.token)).toBe(false);
        for (const wrong of [two.token.toUpperCase(), `${two.token} `, two.token.slice(0, -1), one.token, envelope(100)]) {
          expect(await restore('cust-2', 'NA', wrong)).toBe(false);
        }
        expect(await restore('cust-2', 'EU', two.token)).toBe(false);
        expect(await restore('cust-2', 'JP', two.token)).toBe(false);
        expect(await restore('CUST-2', 'NA', two.token)).toBe(false);
        expect(await restore('cust-3', 'NA', two.token)).toBe(false);
        expect(await restore('cust-4', 'NA', four.token)).toBe(false);
        expect(await restore('nobody', 'NA', two.token)).toBe(false);
        expect({ ...(await snapshot()), events: await store.listEvents() }).toEqual(before);

        expect(await restore('cust-2', 'NA', two.token)).toBe(true);
        expect((await credential('cust-2')).status).toBe('authorized');
      });
    });

    // ---- key rotation: listSecretEnvelopes / replaceEnvelope ------------------------------------------------

    describe('listSecretEnvelopes', () => {
      it('lists the envelopes of the rows that hold at least one, ordered by customer and scope', async () => {
        expect(await store.listSecretEnvelopes()).toEqual([]);
        const aNa = await authorize('cust-a', 'NA', 'APARTNER1');
        const aEu = await authorize('cust-a', 'EU', 'APARTNER2', { start: at(100) });
        expect(await revoke('cust-a', 'EU', aEu.token)).toBe(true);
        await start('cust-b', 'EU', { now: at(200) });
        const c = await start('cust-c', 'JP', { now: at(300) });
        expect(await consume(c.attempt, 'APARTNER3', at(310))).toBe(true);
        const code = envelope(300, 'k');
        expect(await record('cust-c', 'JP', 'APARTNER3', { now: at(320), code, mws: 'amzn.mws.c' })).toBe('recorded');
        const y = await start('Cust-y', 'SG', { now: at(400) });
        expect(await consume(y.attempt, 'APARTNER4', at(410))).toBe(true);
        expect(await record('Cust-y', 'SG', 'APARTNER4', { now: at(420) })).toBe('recorded');
        await start('cust-d', 'NA', { now: at(500) });

        const list = await store.listSecretEnvelopes();
        // Binary order, as the identifier columns compare: upper case first.
        expect(list.map(rowKey)).toEqual(['Cust-y/SG', 'cust-a/EU', 'cust-a/NA', 'cust-c/JP']);
        for (const entry of list) {
          expect(Object.keys(entry).sort()).toEqual(['customerId', 'lwaRefreshToken', 'mwsAuthToken', 'refreshTokenFingerprint', 'region', 'scope', 'spapiOauthCode']);
          const row = await credential(entry.customerId, entry.scope);
          expect(entry).toEqual({
            customerId: row.customerId,
            scope: row.scope,
            region: row.region,
            lwaRefreshToken: row.lwaRefreshToken,
            // The fingerprint stored with the token (completeAuthorization's), none without a token.
            refreshTokenFingerprint: row.lwaRefreshToken === null ? null : fingerprintOf(row.lwaRefreshToken),
            spapiOauthCode: row.spapiOauthCode,
            mwsAuthToken: row.mwsAuthToken,
          });
        }
        expect(list[2]?.lwaRefreshToken).toBe(aNa.token);
        expect(list[1]?.lwaRefreshToken).toBe(aEu.token);
        expect(list[3]).toEqual({
          customerId: 'cust-c',
          scope: 'JP',
          region: 'FE',
          lwaRefreshToken: null,
          refreshTokenFingerprint: null,
          spapiOauthCode: code,
          mwsAuthToken: 'amzn.mws.c',
        });
        expect(list[0]).toMatchObject({ customerId: 'Cust-y', scope: 'SG', region: 'FE' });
      });
    });

    describe('replaceEnvelope', () => {
      const columns = [
        { column: 'lwa_refresh_token', field: 'lwaRefreshToken', max: LIMITS.encryptedRefreshToken },
        { column: 'spapi_oauth_code', field: 'spapiOauthCode', max: LIMITS.encryptedCode },
      ] as const;

      for (const { column, field, max } of columns) {
        it(`swaps ${column} only while it holds exactly the expected envelope, leaving updated_at and the other column alone`, async () => {
          await authorize('cust-1', 'NA', 'APARTNER1');
          await authorize('cust-1', 'EU', 'APARTNER1', { start: at(100) });
          await authorize('cust-2', 'NA', 'APARTNER2', { start: at(200) });
          const before = await snapshot();
          const row = await credential('cust-1');
          const current = row[field];
          if (current === null) throw new Error(`${column} is empty after authorize`);
          const replacement = envelope(max, 'R');
          const swap = (expected: string, customerId = 'cust-1', scope: CredentialScope = 'NA') =>
            store.replaceEnvelope({ customerId, scope, column, expected, replacement });

          expect(await swap(envelope(current.length, 'x'))).toBe(false);
          expect(await swap(current.toUpperCase())).toBe(false);
          expect(await swap(`${current} `)).toBe(false);
          expect(await swap(current.slice(0, -1))).toBe(false);
          expect(await swap(current, 'cust-2')).toBe(false);
          expect(await swap(current, 'cust-1', 'EU')).toBe(false);
          expect(await swap(current, 'cust-1', 'JP')).toBe(false);
          expect(await snapshot()).toEqual(before);

          expect(await swap(current)).toBe(true);
          const after = await credential('cust-1');
          expect(after).toEqual({ ...row, [field]: replacement });
          expect(iso(after.updatedAt)).toBe(iso(row.updatedAt));
          const others = (await snapshot()).rows.filter((r) => rowKey(r) !== 'cust-1/NA');
          expect(others).toEqual(before.rows.filter((r) => rowKey(r) !== 'cust-1/NA'));
          expect((await snapshot()).attempts).toEqual(before.attempts);

          // Compare-and-swap: the old envelope no longer matches; the new one does.
          expect(await swap(current)).toBe(false);
          expect(await store.replaceEnvelope({ customerId: 'cust-1', scope: 'NA', column, expected: replacement, replacement: current })).toBe(true);
          expect(await credential('cust-1')).toEqual(row);
        });
      }

      it('returns false for an empty column, and refuses an unknown column or an over-long envelope, changing nothing', async () => {
        await start('cust-1');
        for (const { column } of columns) {
          expect(await store.replaceEnvelope({ customerId: 'cust-1', scope: 'NA', column, expected: envelope(100), replacement: envelope(100) })).toBe(false);
        }
        expect(await store.replaceEnvelope({ customerId: 'nobody', scope: 'NA', column: 'lwa_refresh_token', expected: envelope(100), replacement: envelope(100) })).toBe(false);

        await authorize('cust-2', 'NA', 'APARTNER2');
        const row = await credential('cust-2');
        const before = await snapshot();
        await expect(
          store.replaceEnvelope({ customerId: 'cust-2', scope: 'NA', column: 'status' as unknown as SecretColumn, expected: 'authorized', replacement: 'pending' }),
        ).rejects.toThrow();
        await expect(
          store.replaceEnvelope({
            customerId: 'cust-2',
            scope: 'NA',
            column: 'lwa_refresh_token',
            expected: row.lwaRefreshToken ?? '',
            replacement: envelope(LIMITS.encryptedRefreshToken + 1),
          }),
        ).rejects.toThrow();
        await expect(
          store.replaceEnvelope({
            customerId: 'cust-2',
            scope: 'NA',
            column: 'spapi_oauth_code',
            expected: row.spapiOauthCode ?? '',
            replacement: envelope(LIMITS.encryptedCode + 1),
          }),
        ).rejects.toThrow();
        expect(await snapshot()).toEqual(before);
      });
    });

    describe('replaceFingerprint', () => {
      const fingerprintIn = async (customerId: string, scope: CredentialScope): Promise<string | null | undefined> =>
        (await store.listSecretEnvelopes()).find((e) => e.customerId === customerId && e.scope === scope)?.refreshTokenFingerprint;
      const replace = (customerId: string, expectedRefreshToken: string, fingerprint: string, scope: CredentialScope = 'NA') =>
        store.replaceFingerprint({ customerId, scope, expectedRefreshToken, fingerprint });

      it("writes a row's fingerprint only while it holds the expected envelope (replaced / changed), leaving the row otherwise alone", async () => {
        const a = await authorize('cust-1', 'NA', 'APARTNER1');
        const b = await authorize('cust-2', 'NA', 'APARTNER2', { start: at(100) });
        await start('cust-3', 'NA', { now: at(200) });
        const before = await snapshot();
        const rotated = fingerprintOf(a.token, 'k2');

        expect(await replace('cust-1', b.token, rotated)).toBe('changed');
        expect(await replace('cust-1', `${a.token} `, rotated)).toBe('changed');
        expect(await replace('cust-1', a.token.slice(0, -1), rotated)).toBe('changed');
        expect(await replace('cust-1', a.token, rotated, 'EU')).toBe('changed');
        expect(await replace('cust-3', a.token, rotated)).toBe('changed');
        expect(await replace('nobody', a.token, rotated)).toBe('changed');
        expect(await fingerprintIn('cust-1', 'NA')).toBe(fingerprintOf(a.token));

        expect(await replace('cust-1', a.token, rotated)).toBe('replaced');
        expect(await fingerprintIn('cust-1', 'NA')).toBe(rotated);
        // Its own fingerprint again is no duplicate.
        expect(await replace('cust-1', a.token, rotated)).toBe('replaced');
        // No other column moves, updated_at included.
        expect(await snapshot()).toEqual(before);
        expect(await fingerprintIn('cust-2', 'NA')).toBe(fingerprintOf(b.token));
      });

      it("answers duplicate, writing nothing, when another row holds that fingerprint (one refresh token in two credentials)", async () => {
        const a = await authorize('cust-1', 'NA', 'APARTNER1');
        const b = await authorize('cust-1', 'JP', 'APARTNER1', { start: at(100) });
        expect(await replace('cust-1', b.token, fingerprintOf(a.token), 'JP')).toBe('duplicate');
        expect(await fingerprintIn('cust-1', 'JP')).toBe(fingerprintOf(b.token));
        expect(await fingerprintIn('cust-1', 'NA')).toBe(fingerprintOf(a.token));
        expect(await replace('cust-1', b.token, fingerprintOf(b.token, 'k2'), 'JP')).toBe('replaced');
      });
    });

    // ---- listCredentialsFor ---------------------------------------------------------------------------------

    describe('listCredentialsFor', () => {
      it("lists one customer's rows in every scope and status, or one seller's across customers and scopes, without secrets", async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        const eu = await start('cust-1', 'EU', { now: at(100) });
        expect(await consume(eu.attempt, 'APARTNER1', at(110))).toBe(true);
        expect(await record('cust-1', 'EU', 'APARTNER1', { now: at(120) })).toBe('recorded');
        await store.failAuthorization({ attemptId: eu.record.attemptId, customerId: 'cust-1', scope: 'EU', failure: { reason: 'code_rejected' }, now: at(130) });
        const fe = await authorize('cust-1', 'JP', 'APARTNER3', { start: at(200) });
        expect(await revoke('cust-1', 'JP', fe.token)).toBe(true);
        await authorize('cust-2', 'AU', 'APARTNER1', { start: at(300) });
        await start('cust-3', 'NA', { now: at(400) });
        await start('CUST-1', 'NA', { now: at(500) });

        const all = await store.listCredentials();
        const expectSummaries = (list: CredentialSummary[]): void => {
          for (const summary of list) {
            expect(Object.keys(summary).sort()).toEqual(SUMMARY_KEYS);
            for (const key of SECRET_KEYS) expect(summary).not.toHaveProperty(key);
            expect(summary).toEqual(all.find((c) => rowKey(c) === rowKey(summary)));
          }
        };
        const sorted = (list: CredentialSummary[]): string[] => list.map((c) => `${rowKey(c)}:${c.status}`).sort();

        const byCustomer = await store.listCredentialsFor({ customerId: 'cust-1' });
        expect(sorted(byCustomer)).toEqual(['cust-1/EU:failed', 'cust-1/JP:revoked', 'cust-1/NA:authorized']);
        expectSummaries(byCustomer);
        expect(byCustomer.find((c) => c.scope === 'JP')?.hasRefreshToken).toBe(true);

        const bySeller = await store.listCredentialsFor({ sellingPartnerId: 'APARTNER1' });
        expect(sorted(bySeller)).toEqual(['cust-1/EU:failed', 'cust-1/NA:authorized', 'cust-2/AU:authorized']);
        expectSummaries(bySeller);
        expect(sorted(await store.listCredentialsFor({ sellingPartnerId: 'APARTNER3' }))).toEqual(['cust-1/JP:revoked']);

        expect(sorted(await store.listCredentialsFor({ customerId: 'CUST-1' }))).toEqual(['CUST-1/NA:pending']);
        expect(await store.listCredentialsFor({ customerId: 'nobody' })).toEqual([]);
        expect(await store.listCredentialsFor({ sellingPartnerId: 'apartner1' })).toEqual([]);
        expect(await store.listCredentialsFor({ sellingPartnerId: 'APARTNER404' })).toEqual([]);
        await expect(store.listCredentialsFor({ customerId: 'cust-1', sellingPartnerId: 'APARTNER1' } as never)).rejects.toThrow();
      });
    });

    // ---- the ops view: listCredentialStatus ------------------------------------------------------------------

    describe('listCredentialStatus (the ops view sp_api_credentials_status)', () => {
      /** The caller's clock, far from the dates the store's own clock would give. */
      const NOW = new Date('2026-06-15T12:00:00.000Z');
      const before = (ms: number): Date => new Date(NOW.getTime() - ms);
      const plus = (d: Date, ms: number): Date => new Date(d.getTime() + ms);
      const deadline = (granted: Date): Date => plus(granted, REAUTHORIZE_AFTER_DAYS * DAY_MS);
      const HOUR_MS = 3_600_000;

      /** authorize() grants 30 s after it starts: this makes auth_granted_date exactly `granted`. */
      const grantAt = (customerId: string, scope: CredentialScope, sellingPartnerId: string, granted: Date) =>
        authorize(customerId, scope, sellingPartnerId, { start: plus(granted, -30_000) });

      const GRANTED = {
        a: before(10 * DAY_MS), // cust-a/NA: reauthorize_by = NOW + 355 days exactly
        b: before(366 * DAY_MS), // cust-b/EU: a day past
        zero: before(10 * DAY_MS - 12 * HOUR_MS), // cust-0/JP: 355.5 days left, so 355
        f: before(365 * DAY_MS), // cust-f/NA: reauthorize_by = NOW: 0 days, still authorized
        g: before(365 * DAY_MS + 1), // cust-g/NA: 1 ms past: -1, expired
        h: before(10 * DAY_MS + 1), // cust-h/NA: 1 ms short of 355 days: 354
        e: before(20 * DAY_MS), // cust-e/NA: then revoked
      };
      const A_RETRY = before(DAY_MS);
      const A_EU = before(HOUR_MS);

      /** Every kind of row, each made through the interface; returns the secrets stored, to look for in the output. */
      async function fixture(): Promise<string[]> {
        await grantAt('cust-a', 'NA', 'APARTNER1', GRANTED.a);
        await grantAt('cust-b', 'EU', 'APARTNER2', GRANTED.b);
        await grantAt('cust-0', 'JP', 'APARTNER3', GRANTED.zero);
        await grantAt('cust-f', 'NA', 'APARTNER6', GRANTED.f);
        await grantAt('cust-g', 'NA', 'APARTNER7', GRANTED.g);
        await grantAt('cust-h', 'NA', 'APARTNER8', GRANTED.h);
        // cust-a/NA: a later re-authorization that failed: the row stays authorized, with last_error.
        const retry = await start('cust-a', 'NA', { now: A_RETRY, flow: 'reauthorize', expectedSellingPartnerId: 'APARTNER1' });
        expect(await consume(retry.attempt, 'APARTNER1', plus(A_RETRY, 10_000))).toBe(true);
        await store.failAuthorization({ attemptId: retry.record.attemptId, customerId: 'cust-a', scope: 'NA', failure: { reason: 'lwa_unavailable' }, now: plus(A_RETRY, 20_000) });
        // cust-a/EU: pending, with the customer's newest attempt (it must not count as NA's last attempt).
        await start('cust-a', 'EU', { now: A_EU });
        await start('cust-c', 'JP', { now: before(2 * DAY_MS) });
        const d = await start('cust-d', 'NA', { now: before(3 * DAY_MS) });
        expect(await consume(d.attempt, 'APARTNER4', plus(before(3 * DAY_MS), 10_000))).toBe(true);
        await store.failAuthorization({
          attemptId: d.record.attemptId,
          customerId: 'cust-d',
          scope: 'NA',
          failure: { reason: 'code_rejected', lwaError: 'invalid_grant' },
          now: plus(before(3 * DAY_MS), 20_000),
        });
        const e = await grantAt('cust-e', 'NA', 'APARTNER5', GRANTED.e);
        expect(await revoke('cust-e', 'NA', e.token, { now: before(5 * DAY_MS) })).toBe(true);

        const secrets: string[] = [];
        for (const summary of await store.listCredentials()) {
          const row = await credential(summary.customerId, summary.scope);
          for (const value of [row.lwaRefreshToken, row.spapiOauthCode, row.mwsAuthToken]) if (value !== null) secrets.push(value);
        }
        expect(secrets.length).toBeGreaterThanOrEqual(7);
        return secrets;
      }

      const keyed = (rows: CredentialStatusRow[]) => rows.map((r) => `${rowKey(r)}:${r.status}:${String(r.daysLeft)}`);
      const ORDER = [
        'cust-b/EU:expired:-1',
        'cust-g/NA:expired:-1',
        'cust-f/NA:authorized:0',
        'cust-h/NA:authorized:354',
        'cust-0/JP:authorized:355',
        'cust-a/NA:authorized:355',
        'cust-a/EU:pending:null',
        'cust-c/JP:pending:null',
        'cust-d/NA:failed:null',
        'cust-e/NA:revoked:null',
      ];

      it('is empty for an empty store', async () => {
        expect(await store.listCredentialStatus({}, NOW)).toEqual([]);
      });

      it('lists every row with deadline, whole days left and last attempt, ordered by days left (nulls last), customer, scope', async () => {
        const secrets = await fixture();
        const rows = await store.listCredentialStatus({}, NOW);
        expect(keyed(rows)).toEqual(ORDER);

        const find = (key: string): CredentialStatusRow => {
          const row = rows.find((r) => rowKey(r) === key);
          if (row === undefined) throw new Error(`no status row ${key}`);
          return row;
        };
        expect(find('cust-a/NA')).toEqual({
          customerId: 'cust-a',
          scope: 'NA',
          region: 'NA',
          marketplace: 'US',
          sellingPartnerId: 'APARTNER1',
          status: 'authorized',
          // The re-authorization came through the anonymous Login URI, which writes no credential column.
          authRequestedDate: plus(GRANTED.a, -30_000),
          authGrantedDate: GRANTED.a,
          revokedAt: null,
          hasRefreshToken: true,
          reauthorizeBy: plus(NOW, 355 * DAY_MS),
          daysLeft: 355,
          lastError: 'lwa_unavailable',
          lastAttemptAt: A_RETRY,
          lastAttemptOutcome: 'failed',
          lastAttemptReason: 'lwa_unavailable',
        });
        expect(find('cust-b/EU')).toEqual({
          customerId: 'cust-b',
          scope: 'EU',
          region: 'EU',
          marketplace: 'DE',
          sellingPartnerId: 'APARTNER2',
          status: 'expired',
          authRequestedDate: plus(GRANTED.b, -30_000),
          authGrantedDate: GRANTED.b,
          revokedAt: null,
          hasRefreshToken: true,
          reauthorizeBy: before(DAY_MS),
          daysLeft: -1,
          lastError: null,
          lastAttemptAt: plus(GRANTED.b, -30_000),
          lastAttemptOutcome: 'succeeded',
          lastAttemptReason: null,
        });
        expect(find('cust-a/EU')).toEqual({
          customerId: 'cust-a',
          scope: 'EU',
          region: 'EU',
          marketplace: 'DE',
          sellingPartnerId: null,
          status: 'pending',
          authRequestedDate: A_EU,
          authGrantedDate: null,
          revokedAt: null,
          hasRefreshToken: false,
          reauthorizeBy: null,
          daysLeft: null,
          lastError: null,
          lastAttemptAt: A_EU,
          // Started an hour ago with a 10-minute state, never called back.
          lastAttemptOutcome: 'abandoned',
          lastAttemptReason: null,
        });
        expect(find('cust-d/NA')).toMatchObject({
          status: 'failed',
          authGrantedDate: null,
          reauthorizeBy: null,
          daysLeft: null,
          lastError: 'code_rejected (invalid_grant)',
          lastAttemptAt: before(3 * DAY_MS),
          lastAttemptOutcome: 'failed',
          lastAttemptReason: 'code_rejected',
        });
        // Revoked: granted once, but no deadline any more. Its last attempt is still the authorization that succeeded:
        // the refresh that found it revoked is an audit row, not an attempt started for the row.
        expect(find('cust-e/NA')).toMatchObject({
          status: 'revoked',
          authGrantedDate: GRANTED.e,
          // When LWA refused the token, which the row still holds (the sweep proves it again).
          revokedAt: before(5 * DAY_MS),
          hasRefreshToken: true,
          reauthorizeBy: null,
          daysLeft: null,
          lastError: formatLastError(REVOKED),
          lastAttemptAt: plus(GRANTED.e, -30_000),
          lastAttemptOutcome: 'succeeded',
          lastAttemptReason: null,
        });
        expect(find('cust-c/JP')).toMatchObject({ scope: 'JP', region: 'FE', status: 'pending', marketplace: 'JP', reauthorizeBy: null, daysLeft: null, lastAttemptOutcome: 'abandoned' });
        for (const [key, granted] of [['cust-0/JP', GRANTED.zero], ['cust-f/NA', GRANTED.f], ['cust-g/NA', GRANTED.g], ['cust-h/NA', GRANTED.h]] as const) {
          expect([find(key).authGrantedDate, find(key).reauthorizeBy]).toEqual([granted, deadline(granted)]);
        }
        expect(find('cust-f/NA').reauthorizeBy).toEqual(NOW);

        // Nothing secret: exactly the view's columns, and no stored envelope anywhere in the output.
        const output = JSON.stringify(rows);
        for (const row of rows) {
          expect(Object.keys(row).sort()).toEqual(STATUS_KEYS);
          for (const key of SECRET_KEYS) expect(row).not.toHaveProperty(key);
        }
        for (const secret of secrets) expect(output).not.toContain(secret);
      });

      it("computes status and days left from the caller's clock, to the millisecond", async () => {
        await fixture();
        const statusAt = async (now: Date, key: string) => (await store.listCredentialStatus({}, now)).find((r) => rowKey(r) === key);
        const aDeadline = deadline(GRANTED.a);
        expect((await statusAt(plus(aDeadline, -1), 'cust-a/NA'))?.daysLeft).toBe(0);
        expect([(await statusAt(aDeadline, 'cust-a/NA'))?.status, (await statusAt(aDeadline, 'cust-a/NA'))?.daysLeft]).toEqual(['authorized', 0]);
        expect([(await statusAt(plus(aDeadline, 1), 'cust-a/NA'))?.status, (await statusAt(plus(aDeadline, 1), 'cust-a/NA'))?.daysLeft]).toEqual(['expired', -1]);
        expect((await statusAt(plus(aDeadline, DAY_MS), 'cust-a/NA'))?.daysLeft).toBe(-1);
        expect((await statusAt(plus(aDeadline, DAY_MS + 1), 'cust-a/NA'))?.daysLeft).toBe(-2);
        expect((await statusAt(plus(aDeadline, -DAY_MS - 1), 'cust-a/NA'))?.daysLeft).toBe(1);

        // A day later, every deadline is a day nearer and cust-f has expired; the other rows do not change.
        const later = await store.listCredentialStatus({}, plus(NOW, DAY_MS));
        expect(keyed(later)).toEqual([
          'cust-b/EU:expired:-2',
          'cust-g/NA:expired:-2',
          'cust-f/NA:expired:-1',
          'cust-h/NA:authorized:353',
          'cust-0/JP:authorized:354',
          'cust-a/NA:authorized:354',
          'cust-a/EU:pending:null',
          'cust-c/JP:pending:null',
          'cust-d/NA:failed:null',
          'cust-e/NA:revoked:null',
        ]);
        // Long before the deadline: nothing is expired yet.
        expect(keyed(await store.listCredentialStatus({}, GRANTED.b)).slice(0, 1)).toEqual(['cust-b/EU:authorized:365']);
      });

      it('expiringWithinDays keeps rows with days_left <= N (expired ones included), never pending, failed or revoked ones', async () => {
        await fixture();
        const within = async (days: number) => keyed(await store.listCredentialStatus({ expiringWithinDays: days }, NOW));
        const due = ['cust-b/EU:expired:-1', 'cust-g/NA:expired:-1', 'cust-f/NA:authorized:0'];
        expect(await within(0)).toEqual(due);
        expect(await within(30)).toEqual(due);
        // cust-h has 354 whole days left (its deadline is 1 ms short of 355 days away): it is due within 354 days.
        expect(await within(353)).toEqual(due);
        expect(await within(354)).toEqual([...due, 'cust-h/NA:authorized:354']);
        expect(await within(355)).toEqual(ORDER.slice(0, 6));
        expect(await within(356)).toEqual(ORDER.slice(0, 6));
        expect(await within(400)).toEqual(ORDER.slice(0, 6));
        await expect(store.listCredentialStatus({ expiringWithinDays: -1 }, NOW)).rejects.toThrow();
        await expect(store.listCredentialStatus({ expiringWithinDays: Number.NaN }, NOW)).rejects.toThrow();
        await expect(store.listCredentialStatus({ expiringWithinDays: 1.5 }, NOW)).rejects.toThrow();
      });

      it('filters by customer (exactly, case-sensitive), alone or with expiringWithinDays', async () => {
        await fixture();
        expect(keyed(await store.listCredentialStatus({ customerId: 'cust-a' }, NOW))).toEqual(['cust-a/NA:authorized:355', 'cust-a/EU:pending:null']);
        expect(keyed(await store.listCredentialStatus({ customerId: 'cust-a', expiringWithinDays: 400 }, NOW))).toEqual(['cust-a/NA:authorized:355']);
        expect(keyed(await store.listCredentialStatus({ customerId: 'cust-a', expiringWithinDays: 30 }, NOW))).toEqual([]);
        expect(keyed(await store.listCredentialStatus({ customerId: 'cust-e' }, NOW))).toEqual(['cust-e/NA:revoked:null']);
        expect(await store.listCredentialStatus({ customerId: 'CUST-A' }, NOW)).toEqual([]);
        expect(await store.listCredentialStatus({ customerId: 'nobody' }, NOW)).toEqual([]);
        expect(await store.listCredentialStatus({ customerId: "x' OR '1'='1" }, NOW)).toEqual([]);
      });

      it('takes the newest attempt of that customer and scope by created_at, then attempt_id (not by id alone)', async () => {
        const first = await start('cust-x', 'NA', { now: at(100) });
        expect(await consume(first.attempt, 'APARTNER1', at(110))).toBe(true);
        await store.failAuthorization({ attemptId: first.record.attemptId, customerId: 'cust-x', scope: 'NA', failure: { reason: 'code_rejected' }, now: at(120) });
        // A later id with an earlier created_at.
        await start('cust-x', 'NA', { now: at(50) });
        // Another scope of the same customer, later than both.
        await start('cust-x', 'EU', { now: at(900) });
        const last = async (scope: CredentialScope) => {
          const row = (await store.listCredentialStatus({ customerId: 'cust-x' }, at(1000))).find((r) => r.scope === scope);
          return [iso(row?.lastAttemptAt), row?.lastAttemptOutcome, row?.lastAttemptReason];
        };
        expect(await last('NA')).toEqual([at(100).toISOString(), 'failed', 'code_rejected']);
        expect(await last('EU')).toEqual([at(900).toISOString(), 'pending', null]);

        // Same created_at as the failed one, a higher id: it is the newest now (and, 900 s later, abandoned).
        const newest = await start('cust-x', 'NA', { now: at(100) });
        expect(await last('NA')).toEqual([at(100).toISOString(), 'abandoned', null]);

        // Refusals, revocation audits and ops actions are not attempts started for the row: they never replace it.
        await store.recordRefusedCallback({ related: newest.record, sellingPartnerId: 'APARTNER1', reason: 'state_replayed', now: at(950) });
        expect(await last('NA')).toEqual([at(100).toISOString(), 'abandoned', null]);
      });

      it('reads a pending last attempt as abandoned once its state expired unused, and as interrupted past its exchange deadline', async () => {
        const waiting = await start('cust-w', 'NA', { now: at(0) });
        const crashed = await start('cust-k', 'NA', { now: at(0) });
        expect(await consume(crashed.attempt, 'APARTNER1', at(10))).toBe(true);
        const outcome = async (customerId: string, now: Date) =>
          (await store.listCredentialStatus({ customerId }, now)).map((r) => r.lastAttemptOutcome);

        expect(await outcome('cust-w', at(TTL_SECONDS - 1))).toEqual(['pending']);
        expect(await outcome('cust-w', at(TTL_SECONDS))).toEqual(['abandoned']);
        expect(await outcome('cust-k', at(200))).toEqual(['pending']);
        expect(await outcome('cust-k', new Date(at(10).getTime() + EXCHANGE_WINDOW_MS - 1))).toEqual(['pending']);
        expect(await outcome('cust-k', new Date(at(10).getTime() + EXCHANGE_WINDOW_MS))).toEqual(['interrupted']);
        // Nothing was written: the same rows read as pending at an earlier clock, and attemptOutcomeAt agrees.
        expect(await outcome('cust-w', at(1))).toEqual(['pending']);
        const rows = await store.listAttempts();
        expect(rows.map((a) => a.outcome)).toEqual(['pending', 'pending']);
        expect(rows.map((a) => attemptOutcomeAt(a, at(10_000)))).toEqual(['abandoned', 'interrupted']);
        expect(waiting.record.outcome).toBe('pending');
        // The credential rows stay pending: an abandoned attempt is not an outcome of the credential.
        expect((await store.listCredentialStatus({}, at(10_000))).map((r) => r.status)).toEqual(['pending', 'pending']);
      });
    });

    // ---- listRecentAttempts ---------------------------------------------------------------------------------

    describe('listRecentAttempts', () => {
      it('lists attempts created at or after `since`, newest first (ties by id), at most `limit`, optionally of one customer', async () => {
        await start('cust-1', 'NA', { now: at(0) });
        await start('cust-2', 'EU', { now: at(100) });
        await start('cust-1', 'EU', { now: at(200) });
        await start('cust-3', 'AU', { now: at(200) });
        const relatedTo = await start('cust-9', 'NA', { now: at(0) });
        expect(await store.recordRefusedCallback({ related: relatedTo.record, sellingPartnerId: 'APARTNER1', reason: 'state_replayed', now: at(300) })).toBe(true);
        const ids = new Map((await store.listAttempts()).map((a) => [a.attemptId, a]));
        const show = (list: AttemptRecord[]) => list.map((a) => `${a.customerId ?? '-'}/${a.scope ?? '-'}@${(a.createdAt.getTime() - T0.getTime()) / 1000}`);

        const recent = await store.listRecentAttempts({ since: at(100) });
        expect(show(recent)).toEqual(['cust-9/NA@300', 'cust-3/AU@200', 'cust-1/EU@200', 'cust-2/EU@100']);
        for (const attempt of recent) {
          expect(Object.keys(attempt).sort()).toEqual(ATTEMPT_KEYS);
          expect(attempt).toEqual(ids.get(attempt.attemptId));
        }
        expect(show(await store.listRecentAttempts({ since: new Date(at(100).getTime() + 1) }))).toEqual(['cust-9/NA@300', 'cust-3/AU@200', 'cust-1/EU@200']);
        expect(show(await store.listRecentAttempts({ since: at(100), limit: 2 }))).toEqual(['cust-9/NA@300', 'cust-3/AU@200']);
        expect(show(await store.listRecentAttempts({ since: at(100), limit: 1 }))).toEqual(['cust-9/NA@300']);
        expect(show(await store.listRecentAttempts({ since: T0 }))).toHaveLength(6);
        expect(show(await store.listRecentAttempts({ since: T0, customerId: 'cust-1' }))).toEqual(['cust-1/EU@200', 'cust-1/NA@0']);
        expect(show(await store.listRecentAttempts({ since: at(100), customerId: 'cust-1' }))).toEqual(['cust-1/EU@200']);
        expect(show(await store.listRecentAttempts({ since: T0, customerId: 'cust-1', limit: 1 }))).toEqual(['cust-1/EU@200']);
        expect(await store.listRecentAttempts({ since: T0, customerId: 'CUST-1' })).toEqual([]);
        expect(await store.listRecentAttempts({ since: at(301) })).toEqual([]);
      });

      it('returns at most 200 by default, and refuses a limit that is not a positive whole number', async () => {
        for (let i = 0; i < 201; i += 1) await start(`c${i}`, 'NA', { now: at(i) });
        const recent = await store.listRecentAttempts({ since: T0 });
        expect(recent).toHaveLength(200);
        expect(recent[0]?.customerId).toBe('c200');
        expect(recent.at(-1)?.customerId).toBe('c1');
        expect(await store.listRecentAttempts({ since: T0, limit: 500 })).toHaveLength(201);
        for (const limit of [0, -1, 1.5, Number.NaN]) {
          await expect(store.listRecentAttempts({ since: T0, limit })).rejects.toThrow();
        }
      });
    });

    describe('completeAuthorization never replaces a seller in passing', () => {
      it('answers partner_changed, writing nothing, when the row was authorized for another seller meanwhile', async () => {
        // Two attempts, two sellers: the first to finish keeps the row.
        const first = await start('cust-1', 'NA', { now: at(0) });
        const second = await start('cust-1', 'NA', { now: at(1) });
        expect(await consume(first.attempt, 'APARTNER1', at(10))).toBe(true);
        expect(await consume(second.attempt, 'APARTNER2', at(11))).toBe(true);
        const token = envelope(2800, 'f');
        expect(
          await completeGrant({ attemptId: first.record.attemptId, customerId: 'cust-1', scope: 'NA', marketplace: 'US', sellingPartnerId: 'APARTNER1', encryptedRefreshToken: token, now: at(20) }),
        ).toBe('stored');
        const before = await credential('cust-1');
        expect(
          await completeGrant({ attemptId: second.record.attemptId, customerId: 'cust-1', scope: 'NA', marketplace: 'US', sellingPartnerId: 'APARTNER2', encryptedRefreshToken: envelope(2800, 's'), now: at(21) }),
        ).toBe('partner_changed');
        expect(await credential('cust-1')).toEqual(before);
        expect((await attemptById(second.record.attemptId)).outcome).toBe('pending');
        expect(await authorizedCustomer('APARTNER2', 'NA')).toBeUndefined();
        // The same seller re-authorizing replaces the token as before.
        const third = await start('cust-1', 'NA', { now: at(30) });
        expect(await consume(third.attempt, 'APARTNER1', at(31))).toBe(true);
        expect(
          await completeGrant({ attemptId: third.record.attemptId, customerId: 'cust-1', scope: 'NA', marketplace: 'US', sellingPartnerId: 'APARTNER1', encryptedRefreshToken: envelope(2800, 't'), now: at(40) }),
        ).toBe('stored');
      });
    });

    // ---- the status table -----------------------------------------------------------------------------------

    describe('STATUS_CHANGES, walked pair by pair', () => {
      let seq = 0;
      /** A fresh (customer, NA) row in `status`, made through the interface; returns the working envelope if any. */
      async function rowIn(status: CredentialStatus): Promise<{ customerId: string; token: string | undefined }> {
        seq += 1;
        const customerId = `walk-${seq}`;
        const partner = `AWALK${seq}`;
        const begin = at(seq * 1000);
        switch (status) {
          case 'pending':
            await start(customerId, 'NA', { now: begin });
            return { customerId, token: undefined };
          case 'authorized':
            return { customerId, token: (await authorize(customerId, 'NA', partner, { start: begin })).token };
          case 'failed': {
            const { attempt, record: row } = await start(customerId, 'NA', { now: begin });
            expect(await consume(attempt, partner, later(begin, 10_000))).toBe(true);
            await store.failAuthorization({ attemptId: row.attemptId, customerId, scope: 'NA', failure: { reason: 'code_rejected' }, now: later(begin, 20_000) });
            return { customerId, token: undefined };
          }
          case 'revoked': {
            const { token } = await authorize(customerId, 'NA', partner, { start: begin });
            expect(await store.markRevoked({ customerId, scope: 'NA', expectedRefreshToken: token, failure: REVOKED, now: later(begin, 60_000) })).toBe(true);
            return { customerId, token };
          }
          case 'unlinked': {
            await authorize(customerId, 'NA', partner, { start: begin });
            expect((await store.unlinkCredential({ customerId, scope: 'NA', now: later(begin, 60_000) })).kind).toBe('unlinked');
            return { customerId, token: undefined };
          }
        }
      }

      const events = ['started', ...(Object.keys(STATUS_CHANGES) as StatusEvent[])] as const;
      for (const from of CREDENTIAL_STATUSES) {
        for (const event of events) {
          const to = event === 'started' ? from : nextStatus(from, event);
          it(`${from} + ${event} → ${to}`, async () => {
            const { customerId, token } = await rowIn(from);
            expect((await credential(customerId)).status).toBe(from);
            const when = at(seq * 1000 + 500);
            switch (event) {
              case 'started':
                await start(customerId, 'NA', { now: when });
                await start(customerId, 'NA', { now: later(when, 1), flow: 'reauthorize', expectedSellingPartnerId: 'AWALKX' });
                break;
              case 'succeeded':
                // An authorized row is re-authorized by its own seller; the others may bring a new one.
                await authorize(customerId, 'NA', from === 'authorized' ? `AWALK${seq}` : `ANEW${seq}`, { start: when });
                break;
              case 'failed': {
                const { attempt, record: row } = await start(customerId, 'NA', { now: when });
                expect(await consume(attempt, `AWALK${seq}`, later(when, 10_000))).toBe(true);
                await store.failAuthorization({ attemptId: row.attemptId, customerId, scope: 'NA', failure: { reason: 'lwa_unavailable' }, now: later(when, 20_000) });
                break;
              }
              case 'revoked':
                // Only a row holding a working envelope can be revoked; every other row is left as it was.
                await store.markRevoked({ customerId, scope: 'NA', expectedRefreshToken: token ?? envelope(100), failure: REVOKED, now: when });
                break;
              case 'unlinked':
                expect((await store.unlinkCredential({ customerId, scope: 'NA', now: when })).kind).toBe('unlinked');
                break;
            }
            expect((await credential(customerId)).status).toBe(to);
          });
        }
      }
    });

    // ---- unlinkCredential -----------------------------------------------------------------------------------

    describe('unlinkCredential', () => {
      it('clears the seller and every secret, records an ops attempt, and frees the seller for the next authorization', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1', { marketplace: 'CA' });
        expect(await record('cust-1', 'NA', 'APARTNER1', { now: at(40), mws: envelope(200, 'm') })).toBe('recorded');
        const other = await authorize('cust-2', 'EU', 'APARTNER9', { start: at(50) });
        const untouched = await credential('cust-2', 'EU');

        expect(await store.unlinkCredential({ customerId: 'cust-1', scope: 'NA', now: at(100) })).toEqual({
          kind: 'unlinked',
          previousSellingPartnerId: 'APARTNER1',
          previousStatus: 'authorized',
        });
        const cred = await credential('cust-1');
        expect([cred.status, cred.sellingPartnerId, cred.lwaRefreshToken, cred.spapiOauthCode, cred.mwsAuthToken, cred.hasRefreshToken]).toEqual([
          'unlinked',
          null,
          null,
          null,
          null,
          false,
        ]);
        expect(iso(cred.updatedAt)).toBe(at(100).toISOString());
        const audit = (await store.listAttempts({ customerId: 'cust-1' })).at(-1);
        expect([audit?.flow, audit?.outcome, audit?.reason, audit?.sellingPartnerId, audit?.scope, iso(audit?.createdAt)]).toEqual([
          'ops',
          'succeeded',
          'unlinked',
          'APARTNER1',
          'NA',
          at(100).toISOString(),
        ]);
        expect(await authorizedCustomer('APARTNER1', 'NA')).toBeUndefined();
        expect(await credential('cust-2', 'EU')).toEqual(untouched);
        expect(other.token).toBe(untouched.lwaRefreshToken);

        // Another seller may now be authorized for cust-1, and APARTNER1 for another customer.
        await authorize('cust-1', 'NA', 'APARTNER7', { start: at(200) });
        await authorize('cust-3', 'NA', 'APARTNER1', { start: at(300) });
        expect(await authorizedCustomer('APARTNER7', 'NA')).toBe('cust-1');
        expect(await authorizedCustomer('APARTNER1', 'NA')).toBe('cust-3');
      });

      it('answers not_found for a row that does not exist, writing nothing', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        const before = await store.listAttempts();
        expect(await store.unlinkCredential({ customerId: 'cust-1', scope: 'EU', now: at(100) })).toEqual({ kind: 'not_found' });
        expect(await store.unlinkCredential({ customerId: 'CUST-1', scope: 'NA', now: at(100) })).toEqual({ kind: 'not_found' });
        expect(await store.listAttempts()).toEqual(before);
        expect((await credential('cust-1')).status).toBe('authorized');
      });
    });

    // ---- open attempts --------------------------------------------------------------------------------------

    describe(`at most ${MAX_OPEN_ATTEMPTS} open attempts per customer and scope`, () => {
      it('refuses one more while that many are open, writing nothing; expired, consumed and other rows do not count', async () => {
        for (let i = 0; i < MAX_OPEN_ATTEMPTS; i += 1) await start('cust-1', 'NA', { now: at(i) });
        const before = await credential('cust-1');
        const refused: NewAttempt = {
          stateHash: newHash(),
          browserBindingHash: newHash(),
          flow: 'website',
          expectedSellingPartnerId: null,
          customerId: 'cust-1',
          scope: 'NA',
          marketplace: 'US',
          createdAt: at(100),
          expiresAt: at(700),
        };
        expect(await store.startAuthorization(refused)).toBe('too_many_open');
        expect(await store.findAttemptByStateHash(refused.stateHash)).toBeUndefined();
        expect(await credential('cust-1')).toEqual(before);
        // The anonymous Login URI has a budget of its own: it can neither use up the signed flows' nor be used up by them.
        expect(await store.startAuthorization({ ...refused, flow: 'reauthorize', expectedSellingPartnerId: 'APARTNER1' })).toBe('started');
        for (let i = 1; i < MAX_OPEN_ATTEMPTS; i += 1) {
          expect(await store.startAuthorization({ ...refused, stateHash: newHash(), flow: 'reauthorize', expectedSellingPartnerId: 'APARTNER1' })).toBe('started');
        }
        expect(await store.startAuthorization({ ...refused, stateHash: newHash(), flow: 'reauthorize', expectedSellingPartnerId: 'APARTNER1' })).toBe('too_many_open');
        refused.stateHash = newHash();
        // Another scope, another customer: their own budget.
        expect(await store.startAuthorization({ ...refused, scope: 'EU' })).toBe('started');
        expect(await store.startAuthorization({ ...refused, stateHash: newHash(), customerId: 'cust-2' })).toBe('started');
        // Once the first one's state has expired (at(600)), there is room again.
        expect(await store.startAuthorization({ ...refused, stateHash: newHash(), createdAt: at(600), expiresAt: at(1200) })).toBe('started');
      });
    });

    // ---- purgeAttempts --------------------------------------------------------------------------------------

    describe('purgeAttempts', () => {
      it('deletes ended attempts older than the cut-off, never an open one, never the last started attempt of a row, never a credential', async () => {
        const old = at(0);
        const cutoff = at(100_000);
        const now = at(200_000);
        // cust-1: an old failure, then an old success (its last started attempt), a refusal of it, then revoked.
        const failed = await start('cust-1', 'NA', { now: old });
        expect(await consume(failed.attempt, 'APARTNER1', at(10))).toBe(true);
        await store.failAuthorization({ attemptId: failed.record.attemptId, customerId: 'cust-1', scope: 'NA', failure: { reason: 'code_rejected' }, now: at(20) });
        const ok = await authorize('cust-1', 'NA', 'APARTNER1', { start: at(1000) });
        expect(await store.recordRefusedCallback({ related: ok.attempt, sellingPartnerId: undefined, reason: 'state_replayed', now: at(2000) })).toBe(true);
        expect(await store.markRevoked({ customerId: 'cust-1', scope: 'NA', expectedRefreshToken: ok.token, failure: REVOKED, now: at(3000) })).toBe(true);
        // cust-2: an old abandoned attempt, then a newer abandoned one (its last), both before the cut-off.
        await start('cust-2', 'EU', { now: at(100) });
        const lastOfTwo = await start('cust-2', 'EU', { now: at(5000) });
        // cust-3: an attempt consumed long ago whose exchange never finished (interrupted), superseded later.
        const crashed = await start('cust-3', 'JP', { now: at(200) });
        expect(await consume(crashed.attempt, 'APARTNER3', at(210))).toBe(true);
        const lastOfThree = await start('cust-3', 'JP', { now: at(150_000) });
        // cust-4: an attempt before the cut-off, superseded by one after it that is still open at `now`.
        await start('cust-4', 'NA', { now: at(300) });
        const open = await start('cust-4', 'NA', { now: at(199_900) });
        const credentialsBefore = await store.listCredentials();

        const dry = await store.purgeAttempts({ olderThan: cutoff, now, limit: 1000, dryRun: true });
        expect(dry).toBe(6);
        expect(await store.listAttempts()).toHaveLength(10);

        expect(await store.purgeAttempts({ olderThan: cutoff, now, limit: 4, dryRun: false })).toBe(4);
        expect(await store.purgeAttempts({ olderThan: cutoff, now, limit: 4, dryRun: false })).toBe(2);
        expect(await store.purgeAttempts({ olderThan: cutoff, now, limit: 4, dryRun: false })).toBe(0);

        const ids = (list: number[]) => [...list].sort((a, b) => a - b);
        expect(ids((await store.listAttempts()).map((a) => a.attemptId))).toEqual(
          ids([ok.attempt.attemptId, lastOfTwo.record.attemptId, lastOfThree.record.attemptId, open.record.attemptId]),
        );
        expect(await store.listCredentials()).toEqual(credentialsBefore);
        expect(await store.purgeAttempts({ olderThan: at(10 ** 9), now: at(10 ** 9), limit: 1000, dryRun: true })).toBe(0);
      });

      it('also deletes old refusals and audits of a (customer, scope) that has no started attempt at all', async () => {
        // An anonymous Login-URI attempt never answered is not a "last attempt"; neither are refusals of it.
        const anonymous = await start('cust-1', 'NA', { now: at(0), flow: 'reauthorize', expectedSellingPartnerId: 'APARTNER1' });
        expect(await store.recordRefusedCallback({ related: anonymous.record, sellingPartnerId: undefined, reason: 'state_expired', now: at(700) })).toBe(true);
        expect(await store.purgeAttempts({ olderThan: at(10_000), now: at(20_000), limit: 10, dryRun: false })).toBe(2);
        expect(await store.listAttempts()).toEqual([]);
      });

      it('keeps an attempt still open at `now`, however old the cut-off, and refuses a bad limit', async () => {
        const waiting = await start('cust-1', 'NA', { now: at(0) });
        await start('cust-1', 'NA', { now: at(1) });
        expect(await store.purgeAttempts({ olderThan: at(100), now: at(10), limit: 10, dryRun: false })).toBe(0);
        expect(await store.findAttemptByStateHash(waiting.attempt.stateHash)).toBeDefined();
        for (const limit of [0, -1, 1.5]) await expect(store.purgeAttempts({ olderThan: at(100), now: at(10), limit, dryRun: true })).rejects.toThrow();
      });
    });

    // ---- parameterization -----------------------------------------------------------------------------------

    describe('customer ids are data, never SQL', () => {
      const awkward = [
        "o'brien", // NA
        "x'; DROP TABLE sp_api_credentials; --", // EU
        'Shipica-42', // NA
        "x'); DELETE FROM sp_api_auth_attempts; --", // EU
        'shipica-42', // NA: differs from Shipica-42 only by case, same region
        'Zoë 東京 🚀', // EU
        'quote "double" \\ back %_ [brackets]', // NA
      ];

      it('store and find each one exactly (case-sensitive), through the whole flow', async () => {
        for (const [i, customerId] of awkward.entries()) {
          const scope: CredentialScope = i % 2 === 0 ? 'NA' : 'EU';
          const { token } = await authorize(customerId, scope, `APARTNER${i}`, { start: at(i * 100) });
          const cred = await credential(customerId, scope);
          expect(cred.customerId).toBe(customerId);
          expect(cred.lwaRefreshToken).toBe(token);
          expect(await authorizedCustomer(`APARTNER${i}`, scope)).toBe(customerId);
          const attempts = await store.listAttempts({ customerId });
          expect(attempts.map((a) => a.customerId)).toEqual([customerId]);
        }
        const list = await store.listCredentials();
        expect(list.map((c) => c.customerId).sort()).toEqual([...awkward].sort());
        expect(await store.listAttempts()).toHaveLength(awkward.length);
        expect(await store.findCredential('SHIPICA-42', 'NA')).toBeUndefined();
        expect(await store.findCredential("o'brien", 'EU')).toBeUndefined();
      });
    });

    describe('shared access tokens and the refresh lease (sp_api_access_tokens)', () => {
      const lease = (owner: string, now: Date, forSeconds = 30, customerId = 'cust-1') =>
        store.claimAccessTokenLease({ customerId, scope: 'NA', owner, now, until: later(now, forSeconds * 1000) });
      const write = (owner: string, refreshToken: string, options: { seller?: string; now?: Date; token?: string } = {}) =>
        store.storeSharedAccessToken({
          customerId: 'cust-1',
          scope: 'NA',
          owner,
          generation: `authorized|${options.seller ?? 'APARTNER1'}|gen`,
          sellingPartnerId: options.seller ?? 'APARTNER1',
          expectedRefreshToken: refreshToken,
          accessToken: options.token ?? envelope(700, 'a'),
          expiresAt: at(3600),
          now: options.now ?? at(5),
        });

      it('readAccessTokenSource answers the credential row as findCredential does, with no shared row yet', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        expect(await store.readAccessTokenSource('cust-1', 'NA')).toEqual({ credential: await credential('cust-1'), shared: undefined });
        expect(await store.readAccessTokenSource('cust-1', 'EU')).toBeUndefined();
      });

      it('one claim of many concurrent ones wins a lease nobody holds', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => lease(`owner-${i}`, at(1))));
        expect(claims.filter(Boolean)).toHaveLength(1);
        const holder = `owner-${claims.indexOf(true)}`;
        expect((await store.readAccessTokenSource('cust-1', 'NA'))?.shared).toEqual({
          generation: null,
          accessToken: null,
          expiresAt: null,
          refreshedAt: null,
          leaseOwner: holder,
          leaseUntil: at(31),
        });
      });

      it('an unexpired lease refuses other owners, is granted again to its owner, and to anyone once it expired', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        expect(await lease('a', at(1))).toBe(true);
        expect(await lease('b', at(2))).toBe(false);
        expect(await lease('a', at(3))).toBe(true);
        expect(await lease('b', at(33))).toBe(true);
        expect((await store.readAccessTokenSource('cust-1', 'NA'))?.shared?.leaseOwner).toBe('b');
      });

      it('no lease is granted, and no row written, for a credential row that does not exist', async () => {
        expect(await lease('a', at(1), 30, 'nobody')).toBe(false);
        await authorize('nobody-else', 'NA', 'APARTNER9');
        expect(await store.readAccessTokenSource('nobody', 'NA')).toBeUndefined();
      });

      it('the lease holder writes the token, its generation and expiry, and the lease is cleared', async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1');
        expect(await lease('a', at(1))).toBe(true);
        const sealed = envelope(700, 'z');
        expect(await write('a', token, { token: sealed, now: at(4) })).toBe(true);
        expect((await store.readAccessTokenSource('cust-1', 'NA'))?.shared).toEqual({
          generation: 'authorized|APARTNER1|gen',
          accessToken: sealed,
          expiresAt: at(3600),
          refreshedAt: at(4),
          leaseOwner: null,
          leaseUntil: null,
        });
      });

      it('a write is refused to an owner that does not hold the lease', async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1');
        expect(await lease('a', at(1))).toBe(true);
        expect(await write('b', token)).toBe(false);
        expect(await lease('b', at(40))).toBe(true); // a's lease expired and b took it: a's late write is refused
        expect(await write('a', token)).toBe(false);
      });

      it('a write is refused once the credential changed generation: re-authorized, revoked, or another seller', async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1');
        expect(await lease('a', at(1))).toBe(true);
        expect(await write('a', token, { seller: 'APARTNER2' })).toBe(false);
        const { token: newer } = await authorize('cust-1', 'NA', 'APARTNER1', { start: at(100), token: envelope(2800, 'n') });
        expect(await write('a', token)).toBe(false);
        expect(await revoke('cust-1', 'NA', newer, { now: at(200) })).toBe(true);
        expect(await write('a', newer)).toBe(false);
        expect((await store.readAccessTokenSource('cust-1', 'NA'))?.shared).toBeUndefined(); // revoking deleted it
      });

      it('revoking the credential deletes its shared access token, lease included, in the same transaction', async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1');
        await authorize('cust-2', 'NA', 'APARTNER2');
        for (const customerId of ['cust-1', 'cust-2']) expect(await lease('a', at(1), 30, customerId)).toBe(true);
        expect(await write('a', token, { now: at(4) })).toBe(true);
        expect(await revoke('cust-1', 'NA', token, { now: at(10) })).toBe(true);
        expect((await store.readAccessTokenSource('cust-1', 'NA'))?.shared).toBeUndefined();
        expect((await store.readAccessTokenSource('cust-2', 'NA'))?.shared?.leaseOwner).toBe('a');
      });

      it('unlinking the credential deletes its shared access token', async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1');
        expect(await lease('a', at(1))).toBe(true);
        expect(await write('a', token, { now: at(4) })).toBe(true);
        expect((await store.unlinkCredential({ customerId: 'cust-1', scope: 'NA', now: at(10) })).kind).toBe('unlinked');
        expect((await store.readAccessTokenSource('cust-1', 'NA'))?.shared).toBeUndefined();
      });

      it('releaseAccessTokenLease clears only its own owner\'s lease', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        expect(await lease('a', at(1))).toBe(true);
        await store.releaseAccessTokenLease({ customerId: 'cust-1', scope: 'NA', owner: 'b' });
        expect((await store.readAccessTokenSource('cust-1', 'NA'))?.shared?.leaseOwner).toBe('a');
        await store.releaseAccessTokenLease({ customerId: 'cust-1', scope: 'NA', owner: 'a' });
        expect((await store.readAccessTokenSource('cust-1', 'NA'))?.shared?.leaseOwner).toBeNull();
        expect(await lease('b', at(2))).toBe(true);
      });

      /** The access token a code exchange returned, sealed, for the generation its refresh token makes. */
      const seedFor = (sellingPartnerId: string, refreshToken: string, expiresAt: Date, fill = 'x') => ({
        accessToken: envelope(700, fill),
        generation: credentialGeneration({ status: 'authorized', sellingPartnerId, lwaRefreshToken: refreshToken }),
        expiresAt,
      });

      it("completeAuthorization seeds the fleet's shared access token with the one the exchange returned, in the same transaction", async () => {
        const token = envelope(2800, 't');
        const seed = seedFor('APARTNER1', token, at(3630));
        await authorize('cust-1', 'NA', 'APARTNER1', { token, shared: seed });
        const source = await store.readAccessTokenSource('cust-1', 'NA');
        expect(source?.credential).toEqual(await credential('cust-1'));
        expect(source?.shared).toEqual({ generation: seed.generation, accessToken: seed.accessToken, expiresAt: at(3630), refreshedAt: at(30), leaseOwner: null, leaseUntil: null });
        // The seed is the generation the row now has: a refresh that knows it may write after it.
        expect(seed.generation).toBe(credentialGeneration(await credential('cust-1')));

        // A re-authorization replaces it with its own; an authorization without one leaves the fleet to refresh.
        const newer = envelope(2800, 'n');
        const again = seedFor('APARTNER1', newer, at(4630), 'y');
        await authorize('cust-1', 'NA', 'APARTNER1', { start: at(1000), token: newer, shared: again });
        expect((await store.readAccessTokenSource('cust-1', 'NA'))?.shared).toEqual({
          generation: again.generation,
          accessToken: again.accessToken,
          expiresAt: at(4630),
          refreshedAt: at(1030),
          leaseOwner: null,
          leaseUntil: null,
        });
        await authorize('cust-2', 'NA', 'APARTNER2', { start: at(2000) });
        expect((await store.readAccessTokenSource('cust-2', 'NA'))?.shared).toBeUndefined();
      });

      it('a refused completeAuthorization (partner_conflict, partner_changed) seeds no shared access token', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        const b = await start('cust-2', 'NA', { now: at(100) });
        expect(await consume(b.attempt, 'APARTNER1', at(110))).toBe(true);
        const token = envelope(2800, 'b');
        expect(
          await completeGrant({ attemptId: b.record.attemptId, customerId: 'cust-2', scope: 'NA', marketplace: 'US', sellingPartnerId: 'APARTNER1', encryptedRefreshToken: token, sharedAccessToken: seedFor('APARTNER1', token, at(3700)), now: at(130) }),
        ).toBe('partner_conflict');
        expect((await store.readAccessTokenSource('cust-2', 'NA'))?.shared).toBeUndefined();
        const c = await start('cust-1', 'NA', { now: at(200) });
        expect(await consume(c.attempt, 'APARTNER9', at(210))).toBe(true);
        const other = envelope(2800, 'c');
        expect(
          await completeGrant({ attemptId: c.record.attemptId, customerId: 'cust-1', scope: 'NA', marketplace: 'US', sellingPartnerId: 'APARTNER9', encryptedRefreshToken: other, sharedAccessToken: seedFor('APARTNER9', other, at(3800)), now: at(230) }),
        ).toBe('partner_changed');
        expect((await store.readAccessTokenSource('cust-1', 'NA'))?.shared).toBeUndefined();
      });

      it("a lease another instance took on the row first is no reason to lose the grant: the seed is written and the lease freed", async () => {
        const { attempt, record: row } = await start('cust-1', 'NA');
        expect(await consume(attempt, 'APARTNER1')).toBe(true);
        // The pending row is enough for a lease claim: it creates the shared row, leased and without a token.
        expect(await lease('other', at(15), 60)).toBe(true);
        expect((await store.readAccessTokenSource('cust-1', 'NA'))?.shared).toMatchObject({ accessToken: null, leaseOwner: 'other' });
        const token = envelope(2800, 't');
        const seed = seedFor('APARTNER1', token, at(3630));
        expect(
          await completeGrant({ attemptId: row.attemptId, customerId: 'cust-1', scope: 'NA', marketplace: 'US', sellingPartnerId: 'APARTNER1', encryptedRefreshToken: token, sharedAccessToken: seed, now: at(30) }),
        ).toBe('stored');
        expect([(await credential('cust-1')).status, (await attemptById(row.attemptId)).outcome]).toEqual(['authorized', 'succeeded']);
        expect((await store.readAccessTokenSource('cust-1', 'NA'))?.shared).toEqual({
          generation: seed.generation,
          accessToken: seed.accessToken,
          expiresAt: at(3630),
          refreshedAt: at(30),
          leaseOwner: null,
          leaseUntil: null,
        });
      });

      it('a lease claim racing the completion never costs the grant', async () => {
        for (let i = 0; i < 5; i += 1) {
          const customerId = `race-${i}`;
          const { attempt, record: row } = await start(customerId, 'NA', { now: at(i) });
          expect(await consume(attempt, `ARACE${i}`, at(10 + i))).toBe(true);
          const token = envelope(2800, 't');
          const seed = seedFor(`ARACE${i}`, token, at(3630));
          const [completed] = await Promise.all([
            completeGrant({ attemptId: row.attemptId, customerId, scope: 'NA', marketplace: 'US', sellingPartnerId: `ARACE${i}`, encryptedRefreshToken: token, sharedAccessToken: seed, now: at(30) }),
            store.claimAccessTokenLease({ customerId, scope: 'NA', owner: 'other', now: at(30), until: at(60) }),
          ]);
          expect(completed).toBe('stored');
          expect([(await credential(customerId)).status, (await credential(customerId)).lwaRefreshToken]).toEqual(['authorized', token]);
          expect((await attemptById(row.attemptId)).outcome).toBe('succeeded');
          // Either order leaves one shared row: the seed written (claim first, or claim after it), or, if both inserted
          // at once, the claimer's row without a token yet, for its refresh to fill.
          const shared = (await store.readAccessTokenSource(customerId, 'NA'))?.shared;
          expect([seed.accessToken, null]).toContain(shared?.accessToken);
        }
      });
    });

    // ---- the events outbox (sp_api_events) ------------------------------------------------------------------

    describe('events outbox', () => {
      const types = async (customerId?: string): Promise<string[]> => (await store.listEvents(customerId === undefined ? {} : { customerId })).map((e) => e.type);

      it('completeAuthorization of a pending row writes one authorization.granted with the marketplace and the 365-day deadline', async () => {
        await authorize('cust-1', 'EU', 'APARTNER1', { marketplace: 'DE' });
        const [event, ...more] = await store.listEvents();
        expect(more).toEqual([]);
        expect([event?.type, event?.customerId, event?.scope, event?.sellingPartnerId, iso(event?.occurredAt), event?.deliveryState]).toEqual([
          'authorization.granted', 'cust-1', 'EU', 'APARTNER1', at(30).toISOString(), 'pending',
        ]);
        expect(JSON.parse(event?.data ?? 'null')).toEqual({ marketplace: 'DE', reauthorize_by: new Date(at(30).getTime() + REAUTHORIZE_AFTER_DAYS * DAY_MS).toISOString() });
      });

      it('completeAuthorization of an authorized row writes authorization.reauthorized', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        await authorize('cust-1', 'NA', 'APARTNER1', { start: at(1000) });
        expect(await types()).toEqual(['authorization.granted', 'authorization.reauthorized']);
      });

      it('a completeAuthorization that fails inside its transaction (no credential row) leaves no event and the attempt pending', async () => {
        const { attempt, record: row } = await start('cust-1', 'NA', { flow: 'reauthorize', expectedSellingPartnerId: 'APARTNER1' });
        expect(await consume(attempt, 'APARTNER1')).toBe(true);
        await expect(
          completeGrant({ attemptId: row.attemptId, customerId: 'cust-1', scope: 'NA', marketplace: 'US', sellingPartnerId: 'APARTNER1', encryptedRefreshToken: envelope(300), now: at(30) }),
        ).rejects.toThrow();
        expect(await store.listEvents()).toEqual([]);
        expect((await attemptById(row.attemptId)).outcome).toBe('pending');
      });

      it('a completeAuthorization refused as partner_conflict or partner_changed writes no event', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        const before = await store.listEvents();
        const { attempt, record: row } = await start('cust-2', 'NA', { now: at(100) });
        expect(await consume(attempt, 'APARTNER1', at(110))).toBe(true);
        const complete = (customerId: string, attemptId: number, sellingPartnerId: string) =>
          completeGrant({ attemptId, customerId, scope: 'NA', marketplace: 'US', sellingPartnerId, encryptedRefreshToken: envelope(300), now: at(130) });
        expect(await complete('cust-2', row.attemptId, 'APARTNER1')).toBe('partner_conflict');
        const second = await start('cust-1', 'NA', { now: at(200) });
        expect(await consume(second.attempt, 'APARTNER2', at(210))).toBe(true);
        expect(await complete('cust-1', second.record.attemptId, 'APARTNER2')).toBe('partner_changed');
        expect(await store.listEvents()).toEqual(before);
      });

      it('failAuthorization writes authorization.failed with the reason when the row reads failed, and nothing for an authorized row', async () => {
        const { attempt, record: row } = await start('cust-1');
        expect(await consume(attempt, 'APARTNER1')).toBe(true);
        await store.failAuthorization({ attemptId: row.attemptId, customerId: 'cust-1', scope: 'NA', failure: { reason: 'code_rejected', lwaError: 'invalid_grant', lwaErrorDescription: 'bad code' }, now: at(40) });
        await authorize('cust-2', 'NA', 'APARTNER2', { start: at(100) });
        const again = await start('cust-2', 'NA', { now: at(200) });
        expect(await consume(again.attempt, 'APARTNER2', at(210))).toBe(true);
        await store.failAuthorization({ attemptId: again.record.attemptId, customerId: 'cust-2', scope: 'NA', failure: { reason: 'lwa_unavailable' }, now: at(240) });

        const events = await store.listEvents();
        expect(events.map((e) => [e.type, e.customerId])).toEqual([['authorization.failed', 'cust-1'], ['authorization.granted', 'cust-2']]);
        expect(JSON.parse(events[0]?.data ?? 'null')).toEqual({ reason: 'code_rejected', lwa_error: 'invalid_grant' });
      });

      it('markRevoked writes authorization.revoked only when it marks the row', async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1');
        expect(await store.markRevoked({ customerId: 'cust-1', scope: 'NA', expectedRefreshToken: `${token}x`, failure: REVOKED, now: at(100) })).toBe(false);
        expect(await store.markRevoked({ customerId: 'cust-1', scope: 'NA', expectedRefreshToken: token, failure: REVOKED, now: at(200) })).toBe(true);
        const events = await store.listEvents();
        expect(events.map((e) => [e.type, e.sellingPartnerId, iso(e.occurredAt)])).toEqual([
          ['authorization.granted', 'APARTNER1', at(30).toISOString()],
          ['authorization.revoked', 'APARTNER1', at(200).toISOString()],
        ]);
        expect(JSON.parse(events[1]?.data ?? 'null')).toEqual({ reason: 'authorization_revoked', lwa_error: 'invalid_grant' });
      });

      it('unlinkCredential writes authorization.unlinked naming the previous seller; not_found writes none', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        await store.unlinkCredential({ customerId: 'cust-1', scope: 'NA', now: at(100) });
        await store.unlinkCredential({ customerId: 'cust-1', scope: 'EU', now: at(100) });
        const last = (await store.listEvents()).at(-1);
        expect([last?.type, last?.sellingPartnerId, last?.scope]).toEqual(['authorization.unlinked', 'APARTNER1', 'NA']);
        expect(await types()).toHaveLength(2);
      });

      it('unlinking a row that is already unlinked changes nothing and writes no second authorization.unlinked', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        await store.unlinkCredential({ customerId: 'cust-1', scope: 'NA', now: at(100) });
        expect((await store.unlinkCredential({ customerId: 'cust-1', scope: 'NA', now: at(200) })).kind).toBe('unlinked');
        expect(await types()).toEqual(['authorization.granted', 'authorization.unlinked']);
      });

      it('no event holds a refresh token, code or MWS token envelope', async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1');
        await store.markRevoked({ customerId: 'cust-1', scope: 'NA', expectedRefreshToken: token, failure: REVOKED, now: at(100) });
        await store.unlinkCredential({ customerId: 'cust-1', scope: 'NA', now: at(200) });
        const text = JSON.stringify(await store.listEvents());
        expect(text).not.toContain(token.slice(0, 40));
        expect(text).not.toMatch(/v1:k1:/);
      });

      it('claimDueEvents hands out only the oldest pending event of each seller, leased until leaseUntil', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        await authorize('cust-1', 'NA', 'APARTNER1', { start: at(100) });
        await authorize('cust-2', 'EU', 'APARTNER2', { start: at(200) });
        const claim = (now: Date) => store.claimDueEvents({ now, leaseUntil: later(now, 120_000), limit: 50 });

        const first = await claim(at(300));
        expect(first.map((e) => [e.customerId, e.type])).toEqual([['cust-1', 'authorization.granted'], ['cust-2', 'authorization.granted']]);
        expect(iso(first[0]?.nextAttemptAt)).toBe(later(at(300), 120_000).toISOString());
        expect(await claim(at(301))).toEqual([]); // leased, and the second event of cust-1 waits behind the first

        await store.recordDelivery({ eventId: first[0]?.eventId ?? 0, outcome: 'delivered', now: at(302) });
        const next = await claim(at(303));
        expect(next.map((e) => [e.customerId, e.type])).toEqual([['cust-1', 'authorization.reauthorized']]);
      });

      it('recordDelivery: a retry waits for its time and counts the try; failed lets the seller\'s next event go', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        await authorize('cust-1', 'NA', 'APARTNER1', { start: at(100) });
        const claim = (now: Date) => store.claimDueEvents({ now, leaseUntil: later(now, 120_000), limit: 50 });
        const [head] = await claim(at(300));
        if (head === undefined) throw new Error('nothing claimed');
        await store.recordDelivery({ eventId: head.eventId, outcome: 'retry', now: at(301), nextAttemptAt: at(400), error: 'HTTP 500' });
        expect(await claim(at(399))).toEqual([]);
        const [again] = await claim(at(400));
        expect([again?.eventId, again?.deliveryAttempts, again?.lastDeliveryError]).toEqual([head.eventId, 1, 'HTTP 500']);

        await store.recordDelivery({ eventId: head.eventId, outcome: 'failed', now: at(401), error: 'HTTP 500' });
        const [following] = await claim(at(402));
        expect(following?.type).toBe('authorization.reauthorized');
        const given = (await store.listEvents()).find((e) => e.eventId === head.eventId);
        expect([given?.deliveryState, given?.deliveryAttempts]).toEqual(['failed', 2]);
      });

      it('purgeEvents deletes only delivered events older than the cut-off (and a dry run only counts)', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1'); // delivered, old
        await authorize('cust-2', 'NA', 'APARTNER2', { start: at(10) }); // pending, old
        await authorize('cust-3', 'NA', 'APARTNER3', { start: at(5000) }); // delivered, new
        for (const e of await store.claimDueEvents({ now: at(6000), leaseUntil: at(6100), limit: 50 })) {
          if (e.customerId !== 'cust-2') await store.recordDelivery({ eventId: e.eventId, outcome: 'delivered', now: at(6001) });
        }
        expect(await store.purgeEvents({ olderThan: at(1000), limit: 100, dryRun: true })).toBe(1);
        expect((await store.listEvents()).length).toBe(3);
        expect(await store.purgeEvents({ olderThan: at(1000), limit: 100, dryRun: false })).toBe(1);
        expect((await store.listEvents()).map((e) => e.customerId)).toEqual(['cust-2', 'cust-3']);
      });
    });
    // ---- the credential sweep's checks (sp_api_credential_checks) --------------------------------------------------

    describe('credential checks (the sweep)', () => {
      const claim = (now: Date, runStartedAt: Date, customerId = 'cust-1') =>
        store.claimCredentialCheck({ customerId, scope: 'NA', now, leaseUntil: later(now, 600_000), runStartedAt });
      const flagEvent = (type: 'authorization.region_mismatch' | 'authorization.access_denied', now: Date) => ({
        type, customerId: 'cust-1', scope: 'NA' as const, sellingPartnerId: 'APARTNER1', occurredAt: now, data: { marketplace: 'US' },
      });
      const check = (outcome: 'verified' | 'region_mismatch' | 'access_denied' | 'error', now: Date, keepFlag?: boolean) =>
        store.recordCredentialCheck({
          customerId: 'cust-1',
          scope: 'NA',
          now,
          keepFlag,
          outcome,
          error: outcome === 'error' ? 'HTTP 500' : null,
          participation: outcome === 'verified' || outcome === 'region_mismatch' ? { marketplaceIds: ['ATVPDKIKX0DER', 'A2EUQ1WTGCTBG2'], countryCodes: ['US', 'CA'], storeName: 'Store One' } : undefined,
          flagEvent: outcome === 'region_mismatch' ? flagEvent('authorization.region_mismatch', now) : outcome === 'access_denied' ? flagEvent('authorization.access_denied', now) : undefined,
        });

      it('claimCredentialCheck gives the lease to one claimer, and not again to a run that started before the check', async () => {
        expect(await claim(at(0), at(0))).toBe(true);
        expect(await claim(at(1), at(0))).toBe(false); // leased
        await check('verified', at(2));
        expect(await claim(at(3), at(0))).toBe(false); // checked since this run started
        expect(await claim(at(4), at(3))).toBe(true); // a later run
        expect(await claim(at(5) , at(3), 'cust-2')).toBe(true);
      });

      it('claimCredentialCheck takes over a lease that ran out (a sweep that died mid-check)', async () => {
        expect(await claim(at(0), at(0))).toBe(true);
        expect(await claim(at(601), at(0))).toBe(true);
      });

      it('recordCredentialCheck stores what SP-API said and releases the lease', async () => {
        await claim(at(0), at(0));
        await check('verified', at(10));
        const [row] = await store.listCredentialChecks({ customerId: 'cust-1' });
        expect([row?.leaseUntil, iso(row?.verifiedAt), row?.countryCodes, row?.marketplaceIds, row?.storeName, row?.flag, row?.checkOutcome]).toEqual([
          null, at(10).toISOString(), ['US', 'CA'], ['ATVPDKIKX0DER', 'A2EUQ1WTGCTBG2'], 'Store One', null, 'verified',
        ]);
      });

      it('a flag writes its event when it is new only; verified clears it; an error leaves flag and marketplaces as they were', async () => {
        await claim(at(0), at(0));
        await check('region_mismatch', at(10));
        await check('region_mismatch', at(20));
        await check('error', at(30));
        let [row] = await store.listCredentialChecks();
        expect([row?.flag, row?.checkOutcome, row?.checkError, iso(row?.verifiedAt)]).toEqual(['region_mismatch', 'error', 'HTTP 500', at(20).toISOString()]);
        await check('access_denied', at(40));
        await check('verified', at(50));
        [row] = await store.listCredentialChecks();
        expect(row?.flag).toBeNull();
        await check('region_mismatch', at(60));
        expect((await store.listEvents()).map((e) => [e.type, iso(e.occurredAt)])).toEqual([
          ['authorization.region_mismatch', at(10).toISOString()],
          ['authorization.access_denied', at(40).toISOString()],
          ['authorization.region_mismatch', at(60).toISOString()],
        ]);
      });

      it('clearing a flag writes authorization.flag_cleared naming the flag and the seller; keepFlag leaves the flag as it is and writes no event', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        const flagOf = async () => (await store.listCredentialChecks({ customerId: 'cust-1' }))[0]?.flag;
        const sweepEvents = async () =>
          (await store.listEvents({ customerId: 'cust-1' }))
            .filter((e) => e.type !== 'authorization.granted')
            .map((e) => [e.type, e.scope, e.region, e.sellingPartnerId, iso(e.occurredAt), JSON.parse(e.data) as unknown]);
        expect(await claim(at(0), at(0))).toBe(true);
        // An SP-API 403 the sweep cannot yet tell from an app-wide denial: recorded, no flag, no event.
        await check('access_denied', at(5), true);
        expect([await flagOf(), (await store.listCredentialChecks())[0]?.checkOutcome]).toEqual([null, 'access_denied']);
        await check('access_denied', at(10));
        expect(await flagOf()).toBe('spapi_access_denied');
        // keepFlag on a verified check: the flag stays, nothing is told.
        await check('verified', at(20), true);
        expect(await flagOf()).toBe('spapi_access_denied');
        // An outcome that learned nothing leaves the flag; verified clears it, once.
        await check('error', at(30));
        await check('verified', at(40));
        expect(await flagOf()).toBeNull();
        await check('verified', at(50));
        await check('region_mismatch', at(60));
        await check('verified', at(70));
        expect(await sweepEvents()).toEqual([
          ['authorization.access_denied', 'NA', 'NA', 'APARTNER1', at(10).toISOString(), { marketplace: 'US' }],
          ['authorization.flag_cleared', 'NA', 'NA', 'APARTNER1', at(40).toISOString(), { flag: 'spapi_access_denied' }],
          ['authorization.region_mismatch', 'NA', 'NA', 'APARTNER1', at(60).toISOString(), { marketplace: 'US' }],
          ['authorization.flag_cleared', 'NA', 'NA', 'APARTNER1', at(70).toISOString(), { flag: 'region_mismatch' }],
        ]);
      });

      it('recordDeadlineReminder writes each threshold once per grant, never a looser one after a tighter, and starts over with a new grant', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        const granted = (await credential('cust-1')).authGrantedDate ?? T0;
        const remind = (threshold: 30 | 7 | 0, grantedAt = granted) =>
          store.recordDeadlineReminder({
            customerId: 'cust-1', scope: 'NA', grantedAt, threshold,
            event: { type: threshold === 0 ? 'authorization.expired' : 'authorization.expiring', customerId: 'cust-1', scope: 'NA', sellingPartnerId: 'APARTNER1', occurredAt: at(100), data: { threshold_days: threshold } },
          });
        expect(await remind(30)).toBe(true);
        expect(await remind(30)).toBe(false);
        expect(await remind(7)).toBe(true);
        expect(await remind(30)).toBe(false);
        expect(await remind(0)).toBe(true);
        expect(await remind(7, later(granted, 1))).toBe(false); // not the row's grant
        await authorize('cust-1', 'NA', 'APARTNER1', { start: at(1000) });
        const regranted = (await credential('cust-1')).authGrantedDate ?? T0;
        expect(await remind(30, regranted)).toBe(true);
        expect((await store.listEvents()).filter((e) => e.type !== 'authorization.granted' && e.type !== 'authorization.reauthorized').map((e) => JSON.parse(e.data) as unknown)).toEqual([
          { threshold_days: 30 }, { threshold_days: 7 }, { threshold_days: 0 }, { threshold_days: 30 },
        ]);
      });

      it('recordDeadlineReminder writes nothing for a row that is not authorized', async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1');
        const granted = (await credential('cust-1')).authGrantedDate ?? T0;
        await store.markRevoked({ customerId: 'cust-1', scope: 'NA', expectedRefreshToken: token, failure: REVOKED, now: at(100) });
        const before = await store.listEvents();
        expect(await store.recordDeadlineReminder({ customerId: 'cust-1', scope: 'NA', grantedAt: granted, threshold: 7, event: { type: 'authorization.expiring', customerId: 'cust-1', scope: 'NA', sellingPartnerId: 'APARTNER1', occurredAt: at(200), data: {} } })).toBe(false);
        expect(await store.listEvents()).toEqual(before);
      });
    });
    // ---- importRefreshToken (self-authorized private apps) ------------------------------------------------------

    describe('importRefreshToken', () => {
      /**
       * As the ops command imports: the envelope, the token's fingerprint under the current key (by default the
       * envelope's own, as authorize() stores it) and under every key of the ring.
       */
      const importToken = (
        customerId: string,
        sellingPartnerId: string,
        token: string,
        options: { now?: Date; scope?: CredentialScope; fingerprint?: string; fingerprints?: readonly string[] } = {},
      ) => {
        const scope = options.scope ?? 'NA';
        const fingerprint = options.fingerprint ?? fingerprintOf(token);
        return store.importRefreshToken({
          customerId,
          scope,
          marketplace: marketplaceOf(scope),
          sellingPartnerId,
          encryptedRefreshToken: token,
          refreshTokenFingerprint: fingerprint,
          fingerprints: options.fingerprints ?? [fingerprint],
          now: options.now ?? at(500),
        });
      };

      it('stores a new authorization with a self_authorization attempt and a granted event, in one go', async () => {
        const token = envelope(900, 's');
        expect(await importToken('cust-1', 'APARTNER1', token)).toBe('stored');
        const cred = await credential('cust-1');
        expect([cred.status, cred.sellingPartnerId, cred.lwaRefreshToken, cred.marketplace, iso(cred.authGrantedDate), cred.lastError]).toEqual([
          'authorized', 'APARTNER1', token, 'US', at(500).toISOString(), null,
        ]);
        const [attempt] = await store.listAttempts({ customerId: 'cust-1' });
        expect([attempt?.flow, attempt?.outcome, attempt?.sellingPartnerId]).toEqual(['self_authorization', 'succeeded', 'APARTNER1']);
        const [event] = await store.listEvents({ customerId: 'cust-1' });
        expect([event?.type, JSON.parse(event?.data ?? '{}').flow]).toEqual(['authorization.granted', 'self_authorization']);
        expect(await authorizedCustomer('APARTNER1', 'NA')).toBe('cust-1');
      });

      it('replaces the token of the same seller (reauthorized) and turns a pending row authorized', async () => {
        await start('cust-2');
        expect(await importToken('cust-2', 'APARTNER2', envelope(900))).toBe('stored');
        expect((await credential('cust-2')).status).toBe('authorized');
        await authorize('cust-1', 'NA', 'APARTNER1');
        expect(await importToken('cust-1', 'APARTNER1', envelope(900, 'n'))).toBe('stored');
        expect((await store.listEvents({ customerId: 'cust-1' })).map((e) => e.type)).toEqual(['authorization.granted', 'authorization.reauthorized']);
      });

      it("refuses to overwrite an authorized row of another seller (partner_changed) and writes nothing", async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1');
        const before = { attempts: await store.listAttempts(), events: await store.listEvents() };
        expect(await importToken('cust-1', 'APARTNER9', envelope(900))).toBe('partner_changed');
        expect((await credential('cust-1')).lwaRefreshToken).toBe(token);
        expect({ attempts: await store.listAttempts(), events: await store.listEvents() }).toEqual(before);
      });

      it("refuses a seller authorized for another customer in the scope (partner_conflict) and writes nothing", async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        const events = await store.listEvents();
        expect(await importToken('cust-2', 'APARTNER1', envelope(900))).toBe('partner_conflict');
        expect(await store.findCredential('cust-2', 'NA')).toBeUndefined();
        expect(await store.listEvents()).toEqual(events);
      });

      it('stores the fingerprint it is given with the token', async () => {
        const token = envelope(900, 'f');
        expect(await importToken('cust-1', 'APARTNER1', token, { scope: 'AU', fingerprint: fingerprintOf('the plain token') })).toBe('stored');
        expect(await store.listSecretEnvelopes()).toEqual([
          expect.objectContaining({ customerId: 'cust-1', scope: 'AU', region: 'FE', lwaRefreshToken: token, refreshTokenFingerprint: fingerprintOf('the plain token') }),
        ]);
        expect((await credential('cust-1', 'AU')).marketplace).toBe('AU');
      });

      it('answers token_in_use, writing nothing, when another credential row holds the same refresh token (by fingerprint), whoever and wherever it is', async () => {
        const { token } = await authorize('cust-1', 'NA', 'APARTNER1');
        const before = { ...(await snapshot()), events: await store.listEvents() };
        // The same refresh token sealed again (another envelope, the same fingerprint): for another customer, another
        // scope of the same customer, another Far East marketplace; even for the seller and customer of that row.
        expect(await importToken('cust-2', 'APARTNER2', envelope(900), { fingerprint: fingerprintOf(token) })).toBe('token_in_use');
        expect(await importToken('cust-1', 'APARTNER1', envelope(900), { scope: 'EU', fingerprint: fingerprintOf(token) })).toBe('token_in_use');
        expect(await importToken('cust-3', 'APARTNER3', envelope(900), { scope: 'JP', fingerprint: fingerprintOf(token) })).toBe('token_in_use');
        // Before partner_conflict: the seller is authorized for cust-1 too.
        expect(await importToken('cust-4', 'APARTNER1', envelope(900), { fingerprint: fingerprintOf(token) })).toBe('token_in_use');
        expect({ ...(await snapshot()), events: await store.listEvents() }).toEqual(before);
      });

      it('finds the token under an older key: a row fingerprinted before a key rotation matches one of `fingerprints`', async () => {
        const token = envelope(2800, 'o');
        await authorize('cust-1', 'EU', 'APARTNER1', { token, fingerprint: fingerprintOf(token, 'k0') });
        const before = { ...(await snapshot()), events: await store.listEvents() };
        const current = fingerprintOf(token, 'k1');
        expect(await importToken('cust-2', 'APARTNER2', envelope(900), { fingerprint: current, fingerprints: [fingerprintOf(token, 'k0'), current] })).toBe('token_in_use');
        expect({ ...(await snapshot()), events: await store.listEvents() }).toEqual(before);
      });

      it('the row that holds the token may import it again: no token_in_use for its own row', async () => {
        const token = envelope(900, 'r');
        expect(await importToken('cust-1', 'APARTNER1', token)).toBe('stored');
        const again = envelope(900, 'q');
        expect(await importToken('cust-1', 'APARTNER1', again, { fingerprint: fingerprintOf(token), now: at(600) })).toBe('stored');
        expect((await credential('cust-1')).lwaRefreshToken).toBe(again);
        expect((await store.listSecretEnvelopes())[0]?.refreshTokenFingerprint).toBe(fingerprintOf(token));
        // The same for a row the authorization flow stored, under an older key of the ring.
        const flow = await authorize('cust-2', 'JP', 'APARTNER2', { fingerprint: fingerprintOf('flow token', 'k0') });
        const current = fingerprintOf('flow token', 'k1');
        expect(await importToken('cust-2', 'APARTNER2', envelope(900), { scope: 'JP', fingerprint: current, fingerprints: [fingerprintOf('flow token', 'k0'), current] })).toBe('stored');
        expect((await store.listEvents({ customerId: 'cust-2' })).map((e) => e.type)).toEqual(['authorization.granted', 'authorization.reauthorized']);
        expect(flow.token).not.toBe((await credential('cust-2', 'JP')).lwaRefreshToken);
      });
    });

    // ---- the Far East: one credential per marketplace ----------------------------------------------------------

    describe('the Far East: JP, AU and SG are credentials of their own', () => {
      it('one customer holds JP, AU and SG side by side, with the same seller or another, each its own row in region FE', async () => {
        const jp = await authorize('cust-1', 'JP', 'APARTNER1');
        const au = await authorize('cust-1', 'AU', 'APARTNER1', { start: at(100) });
        const sg = await authorize('cust-1', 'SG', 'APARTNER2', { start: at(200) });
        expect(new Set([jp.token, au.token, sg.token]).size).toBe(3);

        const rows = await store.listCredentialsFor({ customerId: 'cust-1' });
        expect(rows.map((r) => [r.scope, r.region, r.marketplace, r.sellingPartnerId, r.status])).toEqual([
          ['AU', 'FE', 'AU', 'APARTNER1', 'authorized'],
          ['JP', 'FE', 'JP', 'APARTNER1', 'authorized'],
          ['SG', 'FE', 'SG', 'APARTNER2', 'authorized'],
        ]);
        expect([(await credential('cust-1', 'JP')).lwaRefreshToken, (await credential('cust-1', 'AU')).lwaRefreshToken, (await credential('cust-1', 'SG')).lwaRefreshToken]).toEqual([
          jp.token,
          au.token,
          sg.token,
        ]);
        expect(await authorizedCustomer('APARTNER1', 'JP')).toBe('cust-1');
        expect(await authorizedCustomer('APARTNER1', 'AU')).toBe('cust-1');
        expect(await authorizedCustomer('APARTNER1', 'SG')).toBeUndefined();
        expect(await authorizedCustomer('APARTNER2', 'SG')).toBe('cust-1');
        expect((await store.listSecretEnvelopes()).map((e) => [e.scope, e.region, e.refreshTokenFingerprint])).toEqual([
          ['AU', 'FE', fingerprintOf(au.token)],
          ['JP', 'FE', fingerprintOf(jp.token)],
          ['SG', 'FE', fingerprintOf(sg.token)],
        ]);

        // Every method keys on the scope: revoking JP leaves AU and SG as they were, and JP's envelope is not AU's.
        const auBefore = await credential('cust-1', 'AU');
        const sgBefore = await credential('cust-1', 'SG');
        expect(await revoke('cust-1', 'AU', jp.token)).toBe(false);
        expect(await revoke('cust-1', 'JP', jp.token, { now: at(5000) })).toBe(true);
        expect([(await credential('cust-1', 'JP')).status, (await credential('cust-1', 'JP')).revokedAt]).toEqual(['revoked', at(5000)]);
        expect(await credential('cust-1', 'AU')).toEqual(auBefore);
        expect(await credential('cust-1', 'SG')).toEqual(sgBefore);
        expect((await store.listEvents({ customerId: 'cust-1' })).map((e) => [e.type, e.scope, e.region])).toEqual([
          ['authorization.granted', 'JP', 'FE'],
          ['authorization.granted', 'AU', 'FE'],
          ['authorization.granted', 'SG', 'FE'],
          ['authorization.revoked', 'JP', 'FE'],
        ]);
        expect((await store.listAttempts({ customerId: 'cust-1' })).map((a) => [a.flow, a.scope, a.region, a.marketplace])).toEqual([
          ['website', 'JP', 'FE', 'JP'],
          ['website', 'AU', 'FE', 'AU'],
          ['website', 'SG', 'FE', 'SG'],
          ['refresh', 'JP', 'FE', 'JP'],
        ]);
        expect((await store.listCredentialStatus({ customerId: 'cust-1' }, at(6000))).map((r) => [r.scope, r.region, r.status])).toEqual([
          ['AU', 'FE', 'authorized'],
          ['SG', 'FE', 'authorized'],
          ['JP', 'FE', 'revoked'],
        ]);

        // The Login URI: a seller held in JP and AU is ambiguous without a scope; a scope picks its row, with its marketplace.
        const login = (scope: CredentialScope | undefined) =>
          store.startLoginUriAttempt({
            sellingPartnerId: 'APARTNER1',
            scope,
            marketplaces: ['US', 'DE', 'JP', 'AU', 'SG'],
            defaultMarketplaces: { NA: 'US', EU: 'UK', JP: 'JP', AU: 'AU', SG: 'SG' },
            stateHash: newHash(),
            browserBindingHash: newHash(),
            createdAt: at(6000),
            expiresAt: at(6600),
          });
        expect(await login(undefined)).toEqual({ kind: 'ambiguous' });
        expect(await login('AU')).toEqual({ kind: 'started', customerId: 'cust-1', scope: 'AU', marketplace: 'AU' });
        expect(await login('SG')).toEqual({ kind: 'unknown_seller' });
      });

      it('another customer may hold the seller in another Far East marketplace, never in the same one', async () => {
        await authorize('cust-1', 'JP', 'APARTNER1');
        await authorize('cust-2', 'AU', 'APARTNER1', { start: at(100) });
        const c = await start('cust-3', 'JP', { now: at(200) });
        expect(await consume(c.attempt, 'APARTNER1', at(210))).toBe(true);
        expect(await record('cust-3', 'JP', 'APARTNER1', { now: at(220) })).toBe('partner_conflict');
        expect(
          await completeGrant({ attemptId: c.record.attemptId, customerId: 'cust-3', scope: 'JP', marketplace: 'JP', sellingPartnerId: 'APARTNER1', encryptedRefreshToken: envelope(2800, 'c'), now: at(230) }),
        ).toBe('partner_conflict');
        expect(await authorizedCustomer('APARTNER1', 'JP')).toBe('cust-1');
        expect(await authorizedCustomer('APARTNER1', 'AU')).toBe('cust-2');
        expect((await credential('cust-3', 'JP')).status).toBe('pending');
      });

      it("keeps each Far East scope's shared access token, lease and sweep check apart", async () => {
        const jp = await authorize('cust-1', 'JP', 'APARTNER1');
        await authorize('cust-1', 'AU', 'APARTNER1', { start: at(100) });
        const claimLease = (scope: CredentialScope, owner: string) => store.claimAccessTokenLease({ customerId: 'cust-1', scope, owner, now: at(200), until: at(230) });
        expect(await claimLease('JP', 'a')).toBe(true);
        expect(await claimLease('AU', 'b')).toBe(true);
        expect(await claimLease('SG', 'c')).toBe(false);
        expect([(await store.readAccessTokenSource('cust-1', 'JP'))?.shared?.leaseOwner, (await store.readAccessTokenSource('cust-1', 'AU'))?.shared?.leaseOwner]).toEqual(['a', 'b']);
        expect(await store.readAccessTokenSource('cust-1', 'SG')).toBeUndefined();
        expect(
          await store.storeSharedAccessToken({
            customerId: 'cust-1',
            scope: 'JP',
            owner: 'a',
            generation: credentialGeneration(await credential('cust-1', 'JP')),
            sellingPartnerId: 'APARTNER1',
            expectedRefreshToken: jp.token,
            accessToken: envelope(700, 'j'),
            expiresAt: at(3800),
            now: at(210),
          }),
        ).toBe(true);
        expect((await store.readAccessTokenSource('cust-1', 'AU'))?.shared).toMatchObject({ accessToken: null, leaseOwner: 'b' });

        for (const scope of ['JP', 'AU'] as const) {
          expect(await store.claimCredentialCheck({ customerId: 'cust-1', scope, now: at(300), leaseUntil: at(900), runStartedAt: at(300) })).toBe(true);
        }
        expect((await store.listCredentialChecks({ customerId: 'cust-1' })).map((c) => [c.scope, c.region])).toEqual([
          ['AU', 'FE'],
          ['JP', 'FE'],
        ]);

        expect((await store.unlinkCredential({ customerId: 'cust-1', scope: 'JP', now: at(400) })).kind).toBe('unlinked');
        expect((await store.readAccessTokenSource('cust-1', 'JP'))?.shared).toBeUndefined();
        expect((await store.readAccessTokenSource('cust-1', 'AU'))?.shared?.leaseOwner).toBe('b');
        expect((await credential('cust-1', 'AU')).status).toBe('authorized');
      });
    });

    // ---- app-wide incidents (service_incidents) ---------------------------------------------------------------

    describe('app-wide incidents', () => {
      const report = (kind: IncidentKind, now: Date, detail: string | null = 'invalid_client') => store.recordIncident({ kind, detail, now });
      const serviceEvents = async () =>
        (await store.listEvents())
          .filter((e) => e.type.startsWith('service.'))
          .map((e) => [e.type, e.customerId, e.scope, e.region, e.sellingPartnerId, iso(e.occurredAt), JSON.parse(e.data) as unknown]);

      it('opens an incident once and counts every further report; ends it once; a later report opens it again', async () => {
        expect(await store.listIncidents()).toEqual([]);
        expect(await report('lwa_client_rejected', at(0), 'invalid_client: Client authentication failed')).toBe(true);
        expect(await report('lwa_client_rejected', at(10), 'unauthorized_client')).toBe(false);
        // A report without detail keeps the last one.
        expect(await report('lwa_client_rejected', at(20), null)).toBe(false);
        expect(await store.listIncidents()).toEqual([
          { kind: 'lwa_client_rejected', openedAt: at(0), lastSeenAt: at(20), endedAt: null, seenCount: 3, detail: 'unauthorized_client' },
        ]);

        expect(await store.endIncident({ kind: 'lwa_client_rejected', now: at(30) })).toBe(true);
        expect(await store.endIncident({ kind: 'lwa_client_rejected', now: at(40) })).toBe(false);
        expect(await store.endIncident({ kind: 'spapi_denied_for_all', now: at(40) })).toBe(false);
        expect(await store.listIncidents()).toEqual([
          { kind: 'lwa_client_rejected', openedAt: at(0), lastSeenAt: at(20), endedAt: at(30), seenCount: 3, detail: 'unauthorized_client' },
        ]);

        expect(await report('lwa_client_rejected', at(50), 'invalid_client')).toBe(true);
        expect(await store.listIncidents()).toEqual([
          { kind: 'lwa_client_rejected', openedAt: at(50), lastSeenAt: at(50), endedAt: null, seenCount: 1, detail: 'invalid_client' },
        ]);
      });

      it('writes service.incident_started when it opens and service.incident_ended when it ends, naming no customer, scope, region or seller', async () => {
        await authorize('cust-1', 'NA', 'APARTNER1');
        await report('lwa_client_rejected', at(100), 'invalid_client');
        await report('lwa_client_rejected', at(110), 'invalid_client');
        await store.endIncident({ kind: 'lwa_client_rejected', now: at(120) });
        await report('lwa_client_rejected', at(130), null);
        expect(await serviceEvents()).toEqual([
          ['service.incident_started', null, null, null, null, at(100).toISOString(), { incident: 'lwa_client_rejected', first_seen_at: at(100).toISOString(), detail: 'invalid_client' }],
          ['service.incident_ended', null, null, null, null, at(120).toISOString(), { incident: 'lwa_client_rejected' }],
          ['service.incident_started', null, null, null, null, at(130).toISOString(), { incident: 'lwa_client_rejected', first_seen_at: at(130).toISOString(), detail: null }],
        ]);
        // No customer's listing holds them; delivery hands them out in order, as a queue of their own.
        expect((await store.listEvents({ customerId: 'cust-1' })).map((e) => e.type)).toEqual(['authorization.granted']);
        const claimed = await store.claimDueEvents({ now: at(200), leaseUntil: at(320), limit: 50 });
        expect(claimed.map((e) => [e.type, e.customerId, e.scope])).toEqual([
          ['authorization.granted', 'cust-1', 'NA'],
          ['service.incident_started', null, null],
        ]);
      });

      it('keeps each kind apart, lists the latest of each by kind, and checkHealth reads them in its round trip', async () => {
        expect((await store.checkHealth({ now: at(0), sampleSize: 1 })).incidents).toEqual([]);
        await report('spapi_denied_for_all', at(0), 'HTTP 403 for 3 of 3 sellers');
        await report('lwa_client_rejected', at(10));
        await store.endIncident({ kind: 'spapi_denied_for_all', now: at(20) });
        const incidents = await store.listIncidents();
        expect(incidents.map((i) => [i.kind, iso(i.endedAt)])).toEqual([
          ['lwa_client_rejected', null],
          ['spapi_denied_for_all', at(20).toISOString()],
        ]);
        const health = await store.checkHealth({ now: at(30), sampleSize: 1 });
        expect(health.incidents).toEqual(incidents);
        expect(health.writeRefused).toBeUndefined();
      });

      it('one of several reports at once opens it (one started event); every report is counted', async () => {
        const results = await Promise.all(Array.from({ length: 8 }, () => report('spapi_denied_for_all', at(0), 'HTTP 403')));
        expect(results.filter(Boolean)).toHaveLength(1);
        const [incident] = await store.listIncidents();
        expect([incident?.seenCount, incident?.endedAt]).toEqual([8, null]);
        expect((await serviceEvents()).map((e) => e[0])).toEqual(['service.incident_started']);
      });

      it(`clips the detail to ${INCIDENT_DETAIL_LIMIT} characters, in the row and in the event`, async () => {
        const long = `${'d'.repeat(INCIDENT_DETAIL_LIMIT)}tail`;
        expect(await report('lwa_client_rejected', at(0), long)).toBe(true);
        expect((await store.listIncidents())[0]?.detail).toBe('d'.repeat(INCIDENT_DETAIL_LIMIT));
        expect((await serviceEvents())[0]?.[6]).toMatchObject({ detail: 'd'.repeat(INCIDENT_DETAIL_LIMIT) });
      });
    });
  });
}
