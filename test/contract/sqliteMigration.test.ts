import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { REAUTHORIZE_AFTER_DAYS } from '../../src/store/credentialStore.js';
import { toStatusRow } from '../../src/store/rows.js';
import { openSqliteStore, SQLITE_SCHEMA_VERSION } from '../../src/store/sqliteStore.js';

/**
 * SQLite files made before the schema was versioned: user_version 0 and exactly this DDL (the store's SCHEMA as it
 * was, copied here on purpose: it stands for files already on disk, so it must not follow later edits).
 */
const V1_DDL = `
CREATE TABLE IF NOT EXISTS sp_api_credentials (
  customer_id            TEXT NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 64),
  region                 TEXT NOT NULL CHECK (region IN ('NA', 'EU', 'FE')),
  marketplace            TEXT NULL,
  selling_partner_id     TEXT NULL CHECK (length(selling_partner_id) <= 64),
  mws_auth_token         TEXT NULL CHECK (length(mws_auth_token) <= 256),
  spapi_oauth_code       TEXT NULL CHECK (length(spapi_oauth_code) <= 1024),
  lwa_refresh_token      TEXT NULL CHECK (length(lwa_refresh_token) <= 4000),
  status                 TEXT NOT NULL CHECK (status IN ('pending', 'authorized', 'failed')),
  last_error             TEXT NULL,
  auth_requested_date    TEXT NULL,
  auth_granted_date      TEXT NULL,
  lwa_refresh_token_date TEXT NULL,
  updated_at             TEXT NOT NULL,
  PRIMARY KEY (customer_id, region)
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_sp_api_credentials_partner
  ON sp_api_credentials (selling_partner_id, region) WHERE selling_partner_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS sp_api_auth_attempts (
  attempt_id             INTEGER PRIMARY KEY AUTOINCREMENT,
  state_hash             TEXT NULL,
  browser_binding_hash   TEXT NULL,
  flow                   TEXT NOT NULL,
  customer_id            TEXT NULL,
  region                 TEXT NULL,
  marketplace            TEXT NULL,
  selling_partner_id     TEXT NULL,
  code_hash              TEXT NULL,
  created_at             TEXT NOT NULL,
  expires_at             TEXT NULL,
  consumed_at            TEXT NULL,
  completed_at           TEXT NULL,
  outcome                TEXT NOT NULL CHECK (outcome IN ('pending', 'succeeded', 'failed', 'refused')),
  reason                 TEXT NULL,
  lwa_error              TEXT NULL,
  lwa_error_description  TEXT NULL,
  related_attempt_id     INTEGER NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_sp_api_auth_attempts_state
  ON sp_api_auth_attempts (state_hash) WHERE state_hash IS NOT NULL;
CREATE INDEX IF NOT EXISTS ix_sp_api_auth_attempts_customer
  ON sp_api_auth_attempts (customer_id, region, created_at);
`;

/**
 * Files written by the code of schema version 2 ('revoked'): V1_DDL, then this step, user_version 2. Copied for the
 * same reason as V1_DDL.
 */
const V2_DDL = `
CREATE TABLE sp_api_credentials_v2 (
  customer_id            TEXT NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 64),
  region                 TEXT NOT NULL CHECK (region IN ('NA', 'EU', 'FE')),
  marketplace            TEXT NULL,
  selling_partner_id     TEXT NULL CHECK (length(selling_partner_id) <= 64),
  mws_auth_token         TEXT NULL CHECK (length(mws_auth_token) <= 256),
  spapi_oauth_code       TEXT NULL CHECK (length(spapi_oauth_code) <= 1024),
  lwa_refresh_token      TEXT NULL CHECK (length(lwa_refresh_token) <= 4000),
  status                 TEXT NOT NULL CHECK (status IN ('pending', 'authorized', 'failed', 'revoked')),
  last_error             TEXT NULL,
  auth_requested_date    TEXT NULL,
  auth_granted_date      TEXT NULL,
  lwa_refresh_token_date TEXT NULL,
  updated_at             TEXT NOT NULL,
  PRIMARY KEY (customer_id, region)
);
INSERT INTO sp_api_credentials_v2
  (customer_id, region, marketplace, selling_partner_id, mws_auth_token, spapi_oauth_code, lwa_refresh_token, status,
   last_error, auth_requested_date, auth_granted_date, lwa_refresh_token_date, updated_at)
SELECT
   customer_id, region, marketplace, selling_partner_id, mws_auth_token, spapi_oauth_code, lwa_refresh_token, status,
   last_error, auth_requested_date, auth_granted_date, lwa_refresh_token_date, updated_at
FROM sp_api_credentials;
DROP TABLE sp_api_credentials;
ALTER TABLE sp_api_credentials_v2 RENAME TO sp_api_credentials;
CREATE UNIQUE INDEX ux_sp_api_credentials_partner
  ON sp_api_credentials (selling_partner_id, region) WHERE selling_partner_id IS NOT NULL;
`;

/** The ops view's columns, in order: the same names as SQL Server's (sql/004_ops_view.sql), and never a secret. */
const VIEW_COLUMNS = [
  'customer_id',
  'region',
  'marketplace',
  'selling_partner_id',
  'status',
  'auth_requested_date',
  'auth_granted_date',
  'reauthorize_by',
  'days_left',
  'last_error',
  'last_attempt_at',
  'last_attempt_outcome',
  'last_attempt_reason',
  'last_attempt_expires_at',
  'last_attempt_exchange_deadline',
];
const DAY_MS = 86_400_000;

const TOKEN = 'v1:k1:old-iv:old-ciphertext:old-tag';
const CODE = 'v1:k1:code-iv:code-ciphertext:code-tag';
const REQUESTED = '2024-01-01T00:00:00.000Z';
const GRANTED = '2024-01-01T00:00:30.000Z';

describe('SqliteStore schema versions (PRAGMA user_version)', () => {
  const created: string[] = [];

  const newPath = (): string => {
    const path = join(tmpdir(), `spapi-migration-${randomUUID()}.sqlite`);
    created.push(path);
    return path;
  };

  afterEach(async () => {
    const paths = created.splice(0);
    await Promise.all(paths.flatMap((path) => ['', '-wal', '-shm'].map((suffix) => rm(`${path}${suffix}`, { force: true }))));
  });

  /** A file as the unversioned code left it: v1 tables, WAL, user_version 0, one authorized row and its attempt. */
  function oldFile(extraDdl = ''): string {
    const path = newPath();
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      db.exec(V1_DDL + extraDdl);
      db.prepare(
        `INSERT INTO sp_api_credentials
           (customer_id, region, marketplace, selling_partner_id, mws_auth_token, spapi_oauth_code, lwa_refresh_token, status,
            last_error, auth_requested_date, auth_granted_date, lwa_refresh_token_date, updated_at)
         VALUES ('cust-old', 'NA', 'US', 'APARTNER1', 'amzn.mws.old', ?, ?, 'authorized', NULL, ?, ?, ?, ?)`,
      ).run(CODE, TOKEN, REQUESTED, GRANTED, GRANTED, GRANTED);
      db.prepare(
        `INSERT INTO sp_api_auth_attempts
           (state_hash, browser_binding_hash, flow, customer_id, region, marketplace, selling_partner_id, code_hash, created_at,
            expires_at, consumed_at, completed_at, outcome)
         VALUES (?, ?, 'website', 'cust-old', 'NA', 'US', 'APARTNER1', ?, ?, ?, ?, ?, 'succeeded')`,
      ).run('a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64), REQUESTED, '2024-01-01T00:10:00.000Z', '2024-01-01T00:00:10.000Z', GRANTED);
      expect(db.pragma('user_version', { simple: true })).toBe(0);
    } finally {
      db.close();
    }
    return path;
  }

  /** The file's version, schema objects and credential rows, read with better-sqlite3 directly. */
  function inspect(path: string): { version: unknown; schema: unknown[]; credentials: unknown[] } {
    const db = new Database(path);
    try {
      return {
        version: db.pragma('user_version', { simple: true }),
        schema: db.prepare(`SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name`).all(),
        credentials: db.prepare(`SELECT * FROM sp_api_credentials ORDER BY customer_id, region`).all(),
      };
    } finally {
      db.close();
    }
  }

  it('upgrades a version-1 file: the row survives, user_version becomes 4, and markRevoked works on it', async () => {
    expect(SQLITE_SCHEMA_VERSION).toBe(4);
    const path = oldFile();
    const store = await openSqliteStore(path);
    try {
      expect(await store.findCredential('cust-old', 'NA')).toEqual({
        customerId: 'cust-old',
        region: 'NA',
        marketplace: 'US',
        sellingPartnerId: 'APARTNER1',
        status: 'authorized',
        lastError: null,
        authRequestedDate: new Date(REQUESTED),
        authGrantedDate: new Date(GRANTED),
        lwaRefreshTokenDate: new Date(GRANTED),
        updatedAt: new Date(GRANTED),
        hasRefreshToken: true,
        lwaRefreshToken: TOKEN,
        spapiOauthCode: CODE,
        mwsAuthToken: 'amzn.mws.old',
      });
      const [attempt] = await store.listAttempts();
      expect([attempt?.attemptId, attempt?.flow, attempt?.outcome, attempt?.customerId, attempt?.expectedSellingPartnerId]).toEqual([
        1,
        'website',
        'succeeded',
        'cust-old',
        null,
      ]);
      expect(await store.findAuthorizedCustomer('APARTNER1', 'NA')).toBe('cust-old');

      // The partner index was rebuilt: another customer still cannot take an authorized partner.
      await store.startAuthorization({
        stateHash: 'd'.repeat(64),
        browserBindingHash: 'e'.repeat(64),
        flow: 'website',
        expectedSellingPartnerId: null,
        customerId: 'cust-new',
        region: 'NA',
        marketplace: 'US',
        createdAt: new Date('2025-01-01T00:00:00.000Z'),
        expiresAt: new Date('2025-01-01T00:10:00.000Z'),
      });
      expect(
        await store.recordCallback({
          customerId: 'cust-new',
          region: 'NA',
          sellingPartnerId: 'APARTNER1',
          encryptedMwsAuthToken: undefined,
          encryptedCode: 'v1:k1:new-code',
          now: new Date('2025-01-01T00:00:20.000Z'),
        }),
      ).toBe('partner_conflict');

      const now = new Date('2025-01-01T00:01:00.000Z');
      const failure = { reason: 'authorization_revoked', lwaError: 'invalid_grant' };
      expect(await store.markRevoked({ customerId: 'cust-old', region: 'NA', expectedRefreshToken: TOKEN, failure, now })).toBe(true);
      const revoked = await store.findCredential('cust-old', 'NA');
      expect([revoked?.status, revoked?.lastError, revoked?.lwaRefreshToken]).toEqual(['revoked', 'authorization_revoked (invalid_grant)', TOKEN]);
      const audit = (await store.listAttempts()).at(-1);
      expect([audit?.flow, audit?.outcome, audit?.marketplace, audit?.sellingPartnerId]).toEqual(['refresh', 'failed', 'US', 'APARTNER1']);
    } finally {
      await store.close();
    }

    const after = inspect(path);
    expect(after.version).toBe(4);
    const table = after.schema.find((o) => (o as { name: string }).name === 'sp_api_credentials') as { sql: string } | undefined;
    expect(table?.sql).toContain("'revoked'");
  });

  /**
   * A file as the version-2 code left it: oldFile() taken through V2_DDL, user_version 2, plus a revoked and a pending
   * row and attempts in two regions of cust-old (the EU one newer than every NA one).
   */
  function v2File(extraDdl = ''): string {
    const path = oldFile();
    const db = new Database(path);
    try {
      db.exec(V2_DDL);
      db.pragma('user_version = 2');
      if (extraDdl !== '') db.exec(extraDdl);
      const credential = db.prepare(
        `INSERT INTO sp_api_credentials
           (customer_id, region, marketplace, selling_partner_id, lwa_refresh_token, status, last_error, auth_requested_date,
            auth_granted_date, lwa_refresh_token_date, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      credential.run('cust-rev', 'EU', 'DE', 'APARTNER2', 'v1:k1:rev-token', 'revoked', 'authorization_revoked (invalid_grant)', REQUESTED, GRANTED, GRANTED, '2024-03-01T00:00:00.000Z');
      credential.run('cust-pend', 'FE', 'JP', null, null, 'pending', null, '2024-04-01T00:00:00.000Z', null, null, '2024-04-01T00:00:00.000Z');
      const attempt = db.prepare(
        `INSERT INTO sp_api_auth_attempts (state_hash, flow, customer_id, region, marketplace, created_at, completed_at, outcome, reason, lwa_error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      attempt.run(null, 'refresh', 'cust-rev', 'EU', 'DE', '2024-03-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z', 'failed', 'authorization_revoked', 'invalid_grant');
      attempt.run('f'.repeat(64), 'website', 'cust-pend', 'FE', 'JP', '2024-04-01T00:00:00.000Z', null, 'pending', null, null);
      attempt.run(null, 'callback', 'cust-old', 'EU', 'DE', '2024-05-01T00:00:00.000Z', '2024-05-01T00:00:00.000Z', 'refused', 'state_unknown', null);
      expect(db.pragma('user_version', { simple: true })).toBe(2);
    } finally {
      db.close();
    }
    return path;
  }

  const attemptColumns = (path: string): string[] => {
    const db = new Database(path);
    try {
      return (db.prepare('PRAGMA table_info(sp_api_auth_attempts)').all() as { name: string }[]).map((c) => c.name);
    } finally {
      db.close();
    }
  };

  it('upgrades a version-2 file to 4: rows and attempts survive, attempts gain expected_selling_partner_id, the status view works', async () => {
    const path = v2File();
    expect(attemptColumns(path)).not.toContain('expected_selling_partner_id');
    const before = inspect(path);
    const store = await openSqliteStore(path);
    try {
      expect(attemptColumns(path)).toContain('expected_selling_partner_id');
      expect(inspect(path).credentials).toEqual(before.credentials);
      const attempts = await store.listAttempts();
      expect(attempts.map((a) => [a.attemptId, a.flow, a.customerId, a.region, a.outcome, a.expectedSellingPartnerId])).toEqual([
        [1, 'website', 'cust-old', 'NA', 'succeeded', null],
        [2, 'refresh', 'cust-rev', 'EU', 'failed', null],
        [3, 'website', 'cust-pend', 'FE', 'pending', null],
        [4, 'callback', 'cust-old', 'EU', 'refused', null],
      ]);
      expect((await store.findCredential('cust-old', 'NA'))?.lwaRefreshToken).toBe(TOKEN);

      const now = new Date('2024-06-01T00:00:00.000Z');
      const status = await store.listCredentialStatus({}, now);
      expect(status).toEqual([
        {
          customerId: 'cust-old',
          region: 'NA',
          marketplace: 'US',
          sellingPartnerId: 'APARTNER1',
          status: 'authorized',
          authRequestedDate: new Date(REQUESTED),
          authGrantedDate: new Date(GRANTED),
          // 2024 is a leap year: 365 days after 1 January is 31 December.
          reauthorizeBy: new Date('2024-12-31T00:00:30.000Z'),
          daysLeft: 213,
          lastError: null,
          lastAttemptAt: new Date(REQUESTED),
          lastAttemptOutcome: 'succeeded',
          lastAttemptReason: null,
        },
        {
          customerId: 'cust-pend',
          region: 'FE',
          marketplace: 'JP',
          sellingPartnerId: null,
          status: 'pending',
          authRequestedDate: new Date('2024-04-01T00:00:00.000Z'),
          authGrantedDate: null,
          reauthorizeBy: null,
          daysLeft: null,
          lastError: null,
          lastAttemptAt: new Date('2024-04-01T00:00:00.000Z'),
          lastAttemptOutcome: 'pending',
          lastAttemptReason: null,
        },
        {
          customerId: 'cust-rev',
          region: 'EU',
          marketplace: 'DE',
          sellingPartnerId: 'APARTNER2',
          status: 'revoked',
          authRequestedDate: new Date(REQUESTED),
          authGrantedDate: new Date(GRANTED),
          reauthorizeBy: null,
          daysLeft: null,
          lastError: 'authorization_revoked (invalid_grant)',
          // Its only attempt row is the revocation audit ('refresh'), which the view never takes as the last attempt.
          lastAttemptAt: null,
          lastAttemptOutcome: null,
          lastAttemptReason: null,
        },
      ]);
      expect((await store.listCredentialStatus({}, new Date('2025-01-01T00:00:00.000Z')))[0]).toMatchObject({ status: 'expired', daysLeft: -1 });

      // A Re-Authorize through the Login URI on the upgraded file records the seller it expects.
      await store.startAuthorization({
        stateHash: '9'.repeat(64),
        browserBindingHash: '8'.repeat(64),
        flow: 'reauthorize',
        expectedSellingPartnerId: 'APARTNER1',
        customerId: 'cust-old',
        region: 'NA',
        marketplace: 'US',
        createdAt: now,
        expiresAt: new Date(now.getTime() + 600_000),
      });
      const started = await store.findAttemptByStateHash('9'.repeat(64));
      expect([started?.attemptId, started?.flow, started?.expectedSellingPartnerId]).toEqual([5, 'reauthorize', 'APARTNER1']);
      expect((await store.findCredential('cust-old', 'NA'))?.status).toBe('authorized');
      expect((await store.listRecentAttempts({ since: now })).map((a) => a.attemptId)).toEqual([5]);
    } finally {
      await store.close();
    }
    expect(inspect(path).version).toBe(4);
  });

  it('a failing version-3 step leaves a version-2 file as it was (the new column is rolled back with it)', async () => {
    // An object already named like the view makes CREATE VIEW fail after the ALTER TABLE has run.
    const path = v2File('CREATE TABLE sp_api_credentials_status (x TEXT);');
    const before = inspect(path);
    await expect(openSqliteStore(path)).rejects.toThrow();
    expect(inspect(path)).toEqual(before);
    expect(before.version).toBe(2);
    expect(attemptColumns(path)).not.toContain('expected_selling_partner_id');
  });

  it('a fresh file and one upgraded from version 2 end with the same schema', async () => {
    const fresh = newPath();
    await (await openSqliteStore(fresh)).close();
    const upgraded = v2File();
    await (await openSqliteStore(upgraded)).close();
    expect(inspect(upgraded).schema).toEqual(inspect(fresh).schema);
    expect(inspect(upgraded).version).toBe(4);
  });

  it("the view sp_api_credentials_status, read through a second connection, has the store's columns and values", async () => {
    const path = newPath();
    const store = await openSqliteStore(path);
    const reader = new Database(path, { readonly: true });
    try {
      const t = Date.now();
      let n = 0;
      const authorizeAt = async (customerId: string, region: 'NA' | 'EU' | 'FE', partner: string, granted: Date): Promise<void> => {
        n += 1;
        const stateHash = String(n).padStart(64, '0');
        const start = new Date(granted.getTime() - 30_000);
        await store.startAuthorization({
          stateHash,
          browserBindingHash: 'b'.repeat(64),
          flow: 'website',
          expectedSellingPartnerId: null,
          customerId,
          region,
          marketplace: region === 'NA' ? 'US' : region === 'EU' ? 'DE' : 'JP',
          createdAt: start,
          expiresAt: new Date(start.getTime() + 600_000),
        });
        const attempt = await store.findAttemptByStateHash(stateHash);
        const consumedAt = new Date(start.getTime() + 10_000);
        expect(
          await store.consumeAttempt({ stateHash, now: consumedAt, sellingPartnerId: partner, codeHash: 'c'.repeat(64), exchangeDeadline: new Date(consumedAt.getTime() + 600_000) }),
        ).toBe(true);
        expect(
          await store.recordCallback({
            customerId,
            region,
            sellingPartnerId: partner,
            encryptedMwsAuthToken: 'v1:k1:amzn.mws.secret',
            encryptedCode: 'v1:k1:code-secret',
            now: new Date(start.getTime() + 20_000),
          }),
        ).toBe('recorded');
        expect(
          await store.completeAuthorization({
            attemptId: attempt?.attemptId ?? 0,
            customerId,
            region,
            marketplace: region === 'NA' ? 'US' : region === 'EU' ? 'DE' : 'JP',
            sellingPartnerId: partner,
            encryptedRefreshToken: `v1:k1:token-secret-${customerId}`,
            now: granted,
          }),
        ).toBe('stored');
      };
      // An hour away from any day boundary, so the view's clock and the test's agree on the whole days.
      await authorizeAt('c-soon', 'NA', 'APARTNER1', new Date(t - 10 * DAY_MS - 3_600_000));
      await authorizeAt('c-exp', 'EU', 'APARTNER2', new Date(t - 400 * DAY_MS + 3_600_000));
      await store.startAuthorization({
        stateHash: 'e'.repeat(64),
        browserBindingHash: 'b'.repeat(64),
        flow: 'appstore',
        expectedSellingPartnerId: 'APARTNER3',
        customerId: 'c-pend',
        region: 'FE',
        marketplace: 'JP',
        createdAt: new Date(t - 60_000),
        expiresAt: new Date(t + 540_000),
      });

      const statement = reader.prepare(
        'SELECT * FROM sp_api_credentials_status ORDER BY days_left IS NULL, days_left, customer_id, region',
      );
      expect(statement.columns().map((c) => c.name)).toEqual(VIEW_COLUMNS);
      expect((reader.prepare('PRAGMA table_info(sp_api_credentials_status)').all() as { name: string }[]).map((c) => c.name)).toEqual(VIEW_COLUMNS);
      const raw = statement.all() as Record<string, unknown>[];
      expect(raw.map((r) => [r['customer_id'], r['status'], r['days_left']])).toEqual([
        ['c-exp', 'expired', -35],
        ['c-soon', 'authorized', 354],
        ['c-pend', 'pending', null],
      ]);
      const soon = raw[1] ?? {};
      expect(soon['reauthorize_by']).toBe(new Date(t - 10 * DAY_MS - 3_600_000 + REAUTHORIZE_AFTER_DAYS * DAY_MS).toISOString());
      expect([soon['last_attempt_outcome'], soon['last_error']]).toEqual(['succeeded', null]);
      const text = JSON.stringify(raw);
      for (const secret of ['token-secret', 'code-secret', 'amzn.mws.secret']) expect(text).not.toContain(secret);

      expect(raw.map(toStatusRow)).toEqual(await store.listCredentialStatus({}, new Date()));
    } finally {
      reader.close();
      await store.close();
    }
  });

  it('a fresh file and an upgraded one end with the same schema, and opening again changes nothing', async () => {
    const fresh = newPath();
    await (await openSqliteStore(fresh)).close();
    const upgraded = oldFile();
    await (await openSqliteStore(upgraded)).close();

    const freshState = inspect(fresh);
    const upgradedState = inspect(upgraded);
    expect(freshState.version).toBe(4);
    expect(upgradedState.schema).toEqual(freshState.schema);
    expect(upgradedState.version).toBe(freshState.version);
    expect((freshState.schema as { name: string }[]).map((o) => o.name)).toEqual(
      expect.arrayContaining([
        'sp_api_credentials',
        'ux_sp_api_credentials_partner',
        'sp_api_auth_attempts',
        'ux_sp_api_auth_attempts_state',
        'ix_sp_api_auth_attempts_customer',
        'ix_sp_api_auth_attempts_created',
        'sp_api_credentials_status',
      ]),
    );

    await (await openSqliteStore(upgraded)).close();
    expect(inspect(upgraded)).toEqual(upgradedState);
  });

  it('a failing step leaves the file as it was, at its old version', async () => {
    // A leftover table with the name the rebuild uses makes step 2 fail part-way.
    const path = oldFile('CREATE TABLE sp_api_credentials_v2 (x TEXT);');
    const before = inspect(path);
    await expect(openSqliteStore(path)).rejects.toThrow();
    expect(inspect(path)).toEqual(before);
    expect(before.version).toBe(0);
    expect(before.credentials).toHaveLength(1);
  });

  it('refuses a file written by newer code, leaving it as it was', async () => {
    const path = newPath();
    const db = new Database(path);
    db.exec(V1_DDL);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    db.close();
    const before = inspect(path);
    await expect(openSqliteStore(path)).rejects.toThrow(/version 5/);
    expect(inspect(path)).toEqual(before);
  });
});
