import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { attemptOutcomeAt, REAUTHORIZE_AFTER_DAYS, type CredentialScope, type CredentialStatusRow } from '../../src/credentials/index.js';
import { App } from '../../src/app.js';
import { consoleLogger } from '../../src/logging/logging.js';
import { parseKeyRing, TokenCipher } from '../../src/crypto/tokenCipher.js';
import { openSqliteStore } from '../../src/store/openStore.js';
import { packageRoot } from '../../src/store/packageRoot.js';
import { SQLITE_SCHEMA_VERSION } from '../../src/store/sqlite/sqliteEngine.js';
import { APPLICATION_ID, CLIENT_ID } from '../support/harness.js';

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

/**
 * Files written by the code of schema version 3 (the Login-URI flows' expected seller, and the ops view): V2's file,
 * then this step, user_version 3. What main wrote before version 4; copied for the same reason as V1_DDL.
 */
const V3_DDL = `
ALTER TABLE sp_api_auth_attempts ADD COLUMN expected_selling_partner_id TEXT NULL CHECK (length(expected_selling_partner_id) <= 64);

CREATE VIEW sp_api_credentials_status AS
SELECT
  customer_id,
  region,
  marketplace,
  selling_partner_id,
  CASE WHEN ms_left < 0 THEN 'expired' ELSE status END AS status,
  auth_requested_date,
  auth_granted_date,
  reauthorize_by,
  CASE
    WHEN ms_left IS NULL THEN NULL
    WHEN ms_left >= 0 THEN ms_left / 86400000
    ELSE -((86399999 - ms_left) / 86400000)
  END AS days_left,
  last_error,
  last_attempt_at,
  last_attempt_outcome,
  last_attempt_reason
FROM (
  SELECT
    d.*,
    CAST(round((julianday(d.reauthorize_by) - julianday(d.clock_now)) * 86400000) AS INTEGER) AS ms_left
  FROM (
    SELECT
      c.customer_id,
      c.region,
      c.marketplace,
      c.selling_partner_id,
      c.status,
      c.auth_requested_date,
      c.auth_granted_date,
      CASE WHEN c.status = 'authorized' THEN strftime('%Y-%m-%dT%H:%M:%fZ', c.auth_granted_date, '+365 days') END AS reauthorize_by,
      strftime('%Y-%m-%dT%H:%M:%fZ', 'now') AS clock_now,
      c.last_error,
      a.created_at AS last_attempt_at,
      a.outcome AS last_attempt_outcome,
      a.reason AS last_attempt_reason
    FROM sp_api_credentials AS c
    LEFT JOIN sp_api_auth_attempts AS a ON a.attempt_id = (
      SELECT l.attempt_id FROM sp_api_auth_attempts AS l
      WHERE l.customer_id = c.customer_id AND l.region = c.region
      ORDER BY l.created_at DESC, l.attempt_id DESC
      LIMIT 1
    )
  ) AS d
) AS m;
`;

/** The ops view's columns, in order: the same names as SQL Server's (sql/010_far_east_scope.sql), and never a secret. */
const VIEW_COLUMNS = [
  'customer_id',
  'scope',
  'region',
  'marketplace',
  'selling_partner_id',
  'status',
  'auth_requested_date',
  'auth_granted_date',
  'revoked_at',
  'has_refresh_token',
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

/**
 * A credential row of an older file as version 9 keeps it: every column as it was, and the columns 009 adds: the
 * scope (the region in NA and EU; in the Far East the marketplace, JP when it is none of JP, AU, SG), no fingerprint
 * (the App gives one on opening, when the key opens the envelope), no claim, and revoked_at = updated_at for a row
 * already revoked.
 */
function upgradedCredential(row: unknown): Record<string, unknown> {
  const r = row as Record<string, unknown>;
  const marketplace = r['marketplace'];
  const scope = r['region'] !== 'FE' ? r['region'] : marketplace === 'JP' || marketplace === 'AU' || marketplace === 'SG' ? marketplace : 'JP';
  return { ...r, scope, refresh_token_fingerprint: null, partner_claimed_until: null, revoked_at: r['status'] === 'revoked' ? r['updated_at'] : null };
}

const TOKEN = 'v1:k1:old-iv:old-ciphertext:old-tag';
const CODE = 'v1:k1:code-iv:code-ciphertext:code-tag';
const REQUESTED = '2024-01-01T00:00:00.000Z';
const GRANTED = '2024-01-01T00:00:30.000Z';
/** When version-8 code marked cust 48's row revoked (its updated_at): version 9 takes it as its revoked_at. */
const V8_REVOKED = '2024-02-01T00:00:00.000Z';

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

  it('upgrades a version-1 file: the row survives, user_version becomes the newest, and markRevoked works on it', async () => {
    expect(SQLITE_SCHEMA_VERSION).toBe(9);
    const path = oldFile();
    const store = await openSqliteStore(path);
    try {
      expect(await store.findCredential('cust-old', 'NA')).toEqual({
        customerId: 'cust-old',
        scope: 'NA',
        region: 'NA',
        marketplace: 'US',
        sellingPartnerId: 'APARTNER1',
        status: 'authorized',
        lastError: null,
        authRequestedDate: new Date(REQUESTED),
        authGrantedDate: new Date(GRANTED),
        lwaRefreshTokenDate: new Date(GRANTED),
        revokedAt: null,
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
      expect((await store.listCredentialsFor({ sellingPartnerId: 'APARTNER1' })).map((r) => [r.customerId, r.scope, r.region, r.status])).toEqual([['cust-old', 'NA', 'NA', 'authorized']]);

      // The partner index was rebuilt: another customer still cannot take an authorized partner.
      await store.startAuthorization({
        stateHash: 'd'.repeat(64),
        browserBindingHash: 'e'.repeat(64),
        flow: 'website',
        expectedSellingPartnerId: null,
        customerId: 'cust-new',
        scope: 'NA',
        marketplace: 'US',
        createdAt: new Date('2025-01-01T00:00:00.000Z'),
        expiresAt: new Date('2025-01-01T00:10:00.000Z'),
      });
      expect(
        await store.recordCallback({
          customerId: 'cust-new',
          scope: 'NA',
          sellingPartnerId: 'APARTNER1',
          encryptedMwsAuthToken: undefined,
          encryptedCode: 'v1:k1:new-code',
          now: new Date('2025-01-01T00:00:20.000Z'),
        }),
      ).toBe('partner_conflict');

      const now = new Date('2025-01-01T00:01:00.000Z');
      const failure = { reason: 'authorization_revoked', lwaError: 'invalid_grant' };
      expect(await store.markRevoked({ customerId: 'cust-old', scope: 'NA', expectedRefreshToken: TOKEN, failure, now })).toBe(true);
      const revoked = await store.findCredential('cust-old', 'NA');
      expect([revoked?.status, revoked?.lastError, revoked?.lwaRefreshToken, revoked?.revokedAt]).toEqual(['revoked', 'authorization_revoked (invalid_grant)', TOKEN, now]);
      const audit = (await store.listAttempts()).at(-1);
      expect([audit?.flow, audit?.outcome, audit?.marketplace, audit?.sellingPartnerId]).toEqual(['refresh', 'failed', 'US', 'APARTNER1']);
    } finally {
      await store.close();
    }

    const after = inspect(path);
    expect(after.version).toBe(SQLITE_SCHEMA_VERSION);
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

  it('upgrades a version-2 file to the newest: rows and attempts survive, attempts gain expected_selling_partner_id, the status view works', async () => {
    const path = v2File();
    expect(attemptColumns(path)).not.toContain('expected_selling_partner_id');
    const before = inspect(path);
    const store = await openSqliteStore(path);
    try {
      expect(attemptColumns(path)).toContain('expected_selling_partner_id');
      expect(inspect(path).credentials).toEqual(before.credentials.map(upgradedCredential));
      const attempts = await store.listAttempts();
      expect(attempts.map((a) => [a.attemptId, a.flow, a.customerId, a.scope, a.region, a.outcome, a.expectedSellingPartnerId])).toEqual([
        [1, 'website', 'cust-old', 'NA', 'NA', 'succeeded', null],
        [2, 'refresh', 'cust-rev', 'EU', 'EU', 'failed', null],
        [3, 'website', 'cust-pend', 'JP', 'FE', 'pending', null],
        [4, 'callback', 'cust-old', 'EU', 'EU', 'refused', null],
      ]);
      expect((await store.findCredential('cust-old', 'NA'))?.lwaRefreshToken).toBe(TOKEN);

      const now = new Date('2024-06-01T00:00:00.000Z');
      const status = await store.listCredentialStatus({}, now);
      expect(status).toEqual([
        {
          customerId: 'cust-old',
          scope: 'NA',
          region: 'NA',
          marketplace: 'US',
          sellingPartnerId: 'APARTNER1',
          status: 'authorized',
          authRequestedDate: new Date(REQUESTED),
          authGrantedDate: new Date(GRANTED),
          revokedAt: null,
          hasRefreshToken: true,
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
          // A Far East row of the old schema: its marketplace is its scope.
          scope: 'JP',
          region: 'FE',
          marketplace: 'JP',
          sellingPartnerId: null,
          status: 'pending',
          authRequestedDate: new Date('2024-04-01T00:00:00.000Z'),
          authGrantedDate: null,
          revokedAt: null,
          hasRefreshToken: false,
          reauthorizeBy: null,
          daysLeft: null,
          lastError: null,
          lastAttemptAt: new Date('2024-04-01T00:00:00.000Z'),
          lastAttemptOutcome: 'pending',
          lastAttemptReason: null,
        },
        {
          customerId: 'cust-rev',
          scope: 'EU',
          region: 'EU',
          marketplace: 'DE',
          sellingPartnerId: 'APARTNER2',
          status: 'revoked',
          authRequestedDate: new Date(REQUESTED),
          authGrantedDate: new Date(GRANTED),
          // Revoked before revoked_at existed: the row's last change stands for it.
          revokedAt: new Date('2024-03-01T00:00:00.000Z'),
          hasRefreshToken: true,
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
        scope: 'NA',
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
    expect(inspect(path).version).toBe(SQLITE_SCHEMA_VERSION);
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
    expect(inspect(upgraded).version).toBe(SQLITE_SCHEMA_VERSION);
  });

  it("the view sp_api_credentials_status, read through a second connection, has the store's columns and values", async () => {
    const path = newPath();
    const store = await openSqliteStore(path);
    const reader = new Database(path, { readonly: true });
    try {
      const t = Date.now();
      let n = 0;
      const marketplaceOf = (scope: CredentialScope): string => (scope === 'NA' ? 'US' : scope === 'EU' ? 'DE' : scope);
      const authorizeAt = async (customerId: string, scope: CredentialScope, partner: string, granted: Date): Promise<string> => {
        n += 1;
        const stateHash = String(n).padStart(64, '0');
        const start = new Date(granted.getTime() - 30_000);
        await store.startAuthorization({
          stateHash,
          browserBindingHash: 'b'.repeat(64),
          flow: 'website',
          expectedSellingPartnerId: null,
          customerId,
          scope,
          marketplace: marketplaceOf(scope),
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
            scope,
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
            scope,
            marketplace: marketplaceOf(scope),
            sellingPartnerId: partner,
            encryptedRefreshToken: `v1:k1:token-secret-${customerId}`,
            refreshTokenFingerprint: `k1:fingerprint-of-${customerId}`,
            sharedAccessToken: undefined,
            now: granted,
          }),
        ).toBe('stored');
        return `v1:k1:token-secret-${customerId}`;
      };
      // An hour away from any day boundary, so the view's clock and the test's agree on the whole days.
      await authorizeAt('c-soon', 'NA', 'APARTNER1', new Date(t - 10 * DAY_MS - 3_600_000));
      await authorizeAt('c-exp', 'EU', 'APARTNER2', new Date(t - 400 * DAY_MS + 3_600_000));
      const revokedToken = await authorizeAt('c-rev', 'SG', 'APARTNER4', new Date(t - 20 * DAY_MS));
      const revokedAt = new Date(t - 5 * DAY_MS);
      expect(await store.markRevoked({ customerId: 'c-rev', scope: 'SG', expectedRefreshToken: revokedToken, failure: { reason: 'authorization_revoked' }, now: revokedAt })).toBe(true);
      await store.startAuthorization({
        stateHash: 'e'.repeat(64),
        browserBindingHash: 'b'.repeat(64),
        flow: 'appstore',
        expectedSellingPartnerId: 'APARTNER3',
        customerId: 'c-pend',
        scope: 'AU',
        marketplace: 'AU',
        createdAt: new Date(t - 60_000),
        expiresAt: new Date(t + 540_000),
      });

      const statement = reader.prepare(
        'SELECT * FROM sp_api_credentials_status ORDER BY days_left IS NULL, days_left, customer_id, scope',
      );
      expect(statement.columns().map((c) => c.name)).toEqual(VIEW_COLUMNS);
      expect((reader.prepare('PRAGMA table_info(sp_api_credentials_status)').all() as { name: string }[]).map((c) => c.name)).toEqual(VIEW_COLUMNS);
      const raw = statement.all() as Record<string, unknown>[];
      expect(raw.map((r) => [r['customer_id'], r['scope'], r['region'], r['status'], r['days_left'], r['has_refresh_token'], r['revoked_at']])).toEqual([
        ['c-exp', 'EU', 'EU', 'expired', -35, 1, null],
        ['c-soon', 'NA', 'NA', 'authorized', 354, 1, null],
        ['c-pend', 'AU', 'FE', 'pending', null, 0, null],
        ['c-rev', 'SG', 'FE', 'revoked', null, 1, revokedAt.toISOString()],
      ]);
      const soon = raw[1] ?? {};
      expect(soon['reauthorize_by']).toBe(new Date(t - 10 * DAY_MS - 3_600_000 + REAUTHORIZE_AFTER_DAYS * DAY_MS).toISOString());
      expect([soon['last_attempt_outcome'], soon['last_error']]).toEqual(['succeeded', null]);
      const text = JSON.stringify(raw);
      for (const secret of ['token-secret', 'code-secret', 'amzn.mws.secret']) expect(text).not.toContain(secret);

      expect(raw.map(viewRow)).toEqual(await store.listCredentialStatus({}, new Date()));
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
    expect(freshState.version).toBe(SQLITE_SCHEMA_VERSION);
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
    await expect(openSqliteStore(path)).rejects.toThrow(new RegExp(`version ${SQLITE_SCHEMA_VERSION + 1}`));
    expect(inspect(path)).toEqual(before);
  });
  /** The plain MWS token oldFile() leaves on cust-old's row, as code before sealed MWS tokens stored it. */
  const PLAIN_MWS = 'amzn.mws.old';
  const CONSUMED_UNFINISHED_ID = 4;

  /**
   * A file exactly as the version-3 code (main before version 4) leaves it: oldFile() taken through V2_DDL and V3_DDL,
   * user_version 3, written with the statements that code ran. Credential rows: cust-old NA authorized (its MWS token
   * plain), cust-rev EU revoked, cust-pend FE pending, cust-fail NA failed. Attempts, by id: 1 cust-old's succeeded
   * website attempt; 2 cust-rev's succeeded one; 3 cust-rev's revocation audit ('refresh'); 4 cust-pend's attempt,
   * consumed and never finished (the process died mid-exchange); 5 a callback refused against 4; 6 a callback refused
   * naming no known state (no related attempt, no customer); 7 cust-fail's failed attempt; 8 a callback refused
   * against 1. Every audit row is newer than the started attempt of its row.
   */
  function v3File(extraDdl = ''): string {
    const path = oldFile();
    const db = new Database(path);
    try {
      db.exec(V2_DDL);
      db.exec(V3_DDL);
      db.pragma('user_version = 3');
      if (extraDdl !== '') db.exec(extraDdl);
      const at = (day: string, time: string): string => `2024-${day}T${time}.000Z`;
      const minutesAfter = (iso: string, minutes: number): string => new Date(Date.parse(iso) + minutes * 60_000).toISOString();

      // startAuthorization, consumeAttempt, recordCallback, completeAuthorization / failAuthorization as version 3 ran them.
      const start = (stateHash: string, customerId: string, region: string, marketplace: string, createdAt: string): void => {
        db.prepare(
          `INSERT INTO sp_api_auth_attempts
             (state_hash, browser_binding_hash, flow, expected_selling_partner_id, customer_id, region, marketplace, created_at,
              expires_at, outcome)
           VALUES (?, ?, 'website', NULL, ?, ?, ?, ?, ?, 'pending')`,
        ).run(stateHash, `${stateHash.slice(0, 63)}b`, customerId, region, marketplace, createdAt, minutesAfter(createdAt, 10));
        db.prepare(
          `INSERT INTO sp_api_credentials (customer_id, region, marketplace, status, auth_requested_date, updated_at)
           VALUES (?, ?, ?, 'pending', ?, ?)
           ON CONFLICT (customer_id, region) DO UPDATE SET
             status = 'pending', auth_requested_date = excluded.auth_requested_date, updated_at = excluded.updated_at`,
        ).run(customerId, region, marketplace, createdAt, createdAt);
      };
      const consume = (stateHash: string, customerId: string, region: string, partner: string, consumedAt: string): void => {
        db.prepare(`UPDATE sp_api_auth_attempts SET consumed_at = ?, selling_partner_id = ?, code_hash = ? WHERE state_hash = ?`).run(
          consumedAt,
          partner,
          `${stateHash.slice(0, 63)}c`,
          stateHash,
        );
        db.prepare(`UPDATE sp_api_credentials SET selling_partner_id = ?, spapi_oauth_code = ?, updated_at = ? WHERE customer_id = ? AND region = ?`).run(
          partner,
          `v1:k1:code-of-${customerId}`,
          consumedAt,
          customerId,
          region,
        );
      };
      const refuse = (related: { id: number; customerId: string; region: string; marketplace: string } | null, partner: string | null, createdAt: string, reason: string): void => {
        db.prepare(
          `INSERT INTO sp_api_auth_attempts
             (flow, customer_id, region, marketplace, selling_partner_id, created_at, completed_at, outcome, reason, related_attempt_id)
           VALUES ('callback', ?, ?, ?, ?, ?, ?, 'refused', ?, ?)`,
        ).run(related?.customerId ?? null, related?.region ?? null, related?.marketplace ?? null, partner, createdAt, createdAt, reason, related?.id ?? null);
      };

      // 2, 3: cust-rev authorized, then its refresh token refused by LWA.
      start('2'.repeat(64), 'cust-rev', 'EU', 'DE', at('02-01', '00:00:00'));
      consume('2'.repeat(64), 'cust-rev', 'EU', 'APARTNER2', at('02-01', '00:00:10'));
      db.prepare(
        `UPDATE sp_api_credentials SET lwa_refresh_token = 'v1:k1:rev-token', status = 'authorized', last_error = NULL,
           auth_granted_date = ?, lwa_refresh_token_date = ?, updated_at = ? WHERE customer_id = 'cust-rev' AND region = 'EU'`,
      ).run(at('02-01', '00:00:30'), at('02-01', '00:00:30'), at('02-01', '00:00:30'));
      db.prepare(`UPDATE sp_api_auth_attempts SET outcome = 'succeeded', reason = NULL, completed_at = ? WHERE attempt_id = 2`).run(at('02-01', '00:00:30'));
      db.prepare(
        `UPDATE sp_api_credentials SET status = 'revoked', last_error = 'authorization_revoked (invalid_grant)', updated_at = ?
         WHERE customer_id = 'cust-rev' AND region = 'EU'`,
      ).run(at('03-01', '00:00:00'));
      db.prepare(
        `INSERT INTO sp_api_auth_attempts
           (flow, customer_id, region, marketplace, selling_partner_id, created_at, completed_at, outcome, reason, lwa_error, lwa_error_description)
         VALUES ('refresh', 'cust-rev', 'EU', 'DE', 'APARTNER2', ?, ?, 'failed', 'authorization_revoked', 'invalid_grant', NULL)`,
      ).run(at('03-01', '00:00:00'), at('03-01', '00:00:00'));

      // 4, 5: cust-pend's state consumed, the process gone before the exchange's outcome was written; a replay refused.
      start('4'.repeat(64), 'cust-pend', 'FE', 'JP', at('04-01', '00:00:00'));
      consume('4'.repeat(64), 'cust-pend', 'FE', 'APARTNER3', at('04-01', '00:00:20'));
      refuse({ id: 4, customerId: 'cust-pend', region: 'FE', marketplace: 'JP' }, 'APARTNER3', at('04-01', '00:00:25'), 'state_consumed');
      // 6: a callback naming a state never issued.
      refuse(null, 'AUNKNOWN', at('04-02', '00:00:00'), 'state_unknown');

      // 7: cust-fail's code refused by LWA.
      start('7'.repeat(64), 'cust-fail', 'NA', 'US', at('05-01', '00:00:00'));
      consume('7'.repeat(64), 'cust-fail', 'NA', 'APARTNER4', at('05-01', '00:00:10'));
      db.prepare(
        `UPDATE sp_api_auth_attempts SET outcome = 'failed', reason = 'lwa_rejected', lwa_error = 'invalid_grant',
           lwa_error_description = 'The authorization code is invalid', completed_at = ? WHERE attempt_id = 7`,
      ).run(at('05-01', '00:00:40'));
      db.prepare(
        `UPDATE sp_api_credentials SET status = 'failed', last_error = 'lwa_rejected (invalid_grant)', updated_at = ?
         WHERE customer_id = 'cust-fail' AND region = 'NA'`,
      ).run(at('05-01', '00:00:40'));

      // 8: a replay of cust-old's long-finished callback.
      refuse({ id: 1, customerId: 'cust-old', region: 'NA', marketplace: 'US' }, 'APARTNER1', at('05-02', '00:00:00'), 'state_consumed');

      expect(db.pragma('user_version', { simple: true })).toBe(3);
      expect((db.prepare('SELECT COUNT(*) AS n FROM sp_api_auth_attempts').get() as { n: number }).n).toBe(8);
    } finally {
      db.close();
    }
    return path;
  }

  const rawAttempts = (path: string): Record<string, unknown>[] => {
    const db = new Database(path);
    try {
      return db.prepare('SELECT * FROM sp_api_auth_attempts ORDER BY attempt_id').all() as Record<string, unknown>[];
    } finally {
      db.close();
    }
  };

  it('upgrades a file as version-3 code left it to the newest: every credential row and attempt keeps its values', async () => {
    const path = v3File();
    const before = { ...inspect(path), attempts: rawAttempts(path) };
    expect((before.credentials as { status: string }[]).map((c) => c.status)).toEqual(['failed', 'authorized', 'pending', 'revoked']);
    await (await openSqliteStore(path)).close();

    const after = inspect(path);
    expect(after.version).toBe(SQLITE_SCHEMA_VERSION);
    expect(after.credentials).toEqual(before.credentials.map(upgradedCredential));
    expect(rawAttempts(path)).toEqual(
      before.attempts.map((a) => ({
        ...a,
        // Only the consumed, unfinished attempt gets a deadline: 10 minutes after its consumption.
        exchange_deadline: a['attempt_id'] === CONSUMED_UNFINISHED_ID ? '2024-04-01T00:10:20.000Z' : null,
        // Attempts 1 and 4 each have one refused callback recorded against them (8 and 5).
        refusal_count: a['attempt_id'] === 1 || a['attempt_id'] === CONSUMED_UNFINISHED_ID ? 1 : 0,
        // The scope of its region (cust-pend's Far East attempts: their marketplace, JP); none without a region (6).
        scope: a['region'] === null ? null : a['region'] === 'FE' ? a['marketplace'] : a['region'],
      })),
    );
  });

  it('an attempt version-3 code consumed and never finished reads interrupted once 10 minutes have passed since its consumption', async () => {
    const store = await openSqliteStore(v3File());
    try {
      const attempt = (await store.listAttempts()).find((a) => a.attemptId === CONSUMED_UNFINISHED_ID);
      expect([attempt?.outcome, attempt?.consumedAt, attempt?.exchangeDeadline]).toEqual([
        'pending',
        new Date('2024-04-01T00:00:20.000Z'),
        new Date('2024-04-01T00:10:20.000Z'),
      ]);
      if (attempt === undefined) throw new Error('attempt missing');
      expect(attemptOutcomeAt(attempt, new Date('2024-04-01T00:10:19.999Z'))).toBe('pending');
      expect(attemptOutcomeAt(attempt, new Date('2024-04-01T00:10:20.000Z'))).toBe('interrupted');
    } finally {
      await store.close();
    }
  });

  it("the status view shows an upgraded file's consumed, unfinished attempt as interrupted, by SQLite's clock and by the caller's", async () => {
    const path = v3File();
    const store = await openSqliteStore(path);
    const reader = new Database(path, { readonly: true });
    try {
      const raw = reader.prepare(`SELECT * FROM sp_api_credentials_status WHERE customer_id = 'cust-pend'`).all() as Record<string, unknown>[];
      expect(raw.map((r) => [r['last_attempt_at'], r['last_attempt_outcome'], r['last_attempt_exchange_deadline']])).toEqual([
        ['2024-04-01T00:00:00.000Z', 'interrupted', '2024-04-01T00:10:20.000Z'],
      ]);
      const [row] = await store.listCredentialStatus({ customerId: 'cust-pend' }, new Date('2024-06-01T00:00:00.000Z'));
      expect([row?.status, row?.lastAttemptOutcome]).toEqual(['pending', 'interrupted']);
    } finally {
      reader.close();
      await store.close();
    }
  });

  it("an upgraded file keeps every row's status, and each row's last attempt is its newest started one, never a refused callback or a refresh audit", async () => {
    const store = await openSqliteStore(v3File());
    try {
      const status = await store.listCredentialStatus({}, new Date('2024-06-01T00:00:00.000Z'));
      expect(status.map((r) => [r.customerId, r.scope, r.region, r.status, r.lastAttemptAt?.toISOString() ?? null, r.lastAttemptOutcome, r.lastAttemptReason])).toEqual([
        // Attempt 8 (refused, 2024-05-02) is newer than attempt 1.
        ['cust-old', 'NA', 'NA', 'authorized', REQUESTED, 'succeeded', null],
        ['cust-fail', 'NA', 'NA', 'failed', '2024-05-01T00:00:00.000Z', 'failed', 'lwa_rejected'],
        // Attempt 5 (refused, 00:00:25) is newer than attempt 4.
        ['cust-pend', 'JP', 'FE', 'pending', '2024-04-01T00:00:00.000Z', 'interrupted', null],
        // Attempt 3 (the revocation audit, 2024-03-01) is newer than attempt 2.
        ['cust-rev', 'EU', 'EU', 'revoked', '2024-02-01T00:00:00.000Z', 'succeeded', null],
      ]);
    } finally {
      await store.close();
    }
  });

  it('a failing version-4 step leaves a version-3 file as it was', async () => {
    // A leftover table with the name the rebuild uses makes step 4 fail after it has dropped the view.
    const path = v3File('CREATE TABLE sp_api_credentials_v4 (x TEXT);');
    const before = { ...inspect(path), attempts: rawAttempts(path) };
    await expect(openSqliteStore(path)).rejects.toThrow();
    expect({ ...inspect(path), attempts: rawAttempts(path) }).toEqual(before);
    expect(before.version).toBe(3);
  });

  it('a fresh file and one upgraded from version 3 end with the same schema', async () => {
    const fresh = newPath();
    await (await openSqliteStore(fresh)).close();
    const upgraded = v3File();
    await (await openSqliteStore(upgraded)).close();
    expect(inspect(upgraded).schema).toEqual(inspect(fresh).schema);
    expect(inspect(upgraded).version).toBe(SQLITE_SCHEMA_VERSION);
  });

  /**
   * A file as the version-8 code (credentials keyed by region) leaves it: the shipped steps 001–008 (never edited once
   * shipped, so they stand for such files), user_version 8, with Far East rows in every table keyed by region. Rows:
   * 47 FE/JP authorized and 47 NA authorized; 48 FE/AU revoked; 49 FE pending without a marketplace; 50 FE/SG
   * authorized; 51 FE authorized with a marketplace outside the Far East's three (data written by hand).
   */
  function v8File(extraDdl = ''): string {
    const path = newPath();
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      const steps = join(packageRoot(), 'sql', 'sqlite');
      for (const name of readdirSync(steps).filter((n) => /^00[1-8]_[a-z0-9_]+\.sql$/.test(n)).sort()) db.exec(readFileSync(join(steps, name), 'utf8'));
      db.pragma('user_version = 8');
      if (extraDdl !== '') db.exec(extraDdl);
      const credential = db.prepare(
        `INSERT INTO sp_api_credentials
           (customer_id, region, marketplace, selling_partner_id, lwa_refresh_token, status, last_error, auth_requested_date, auth_granted_date,
            lwa_refresh_token_date, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const granted = (customer: string, region: string, marketplace: string | null, partner: string, token: string) =>
        credential.run(customer, region, marketplace, partner, token, 'authorized', null, REQUESTED, GRANTED, GRANTED, GRANTED);
      granted('47', 'FE', 'JP', 'A1JAPAN', 'v1:k1:jp-token');
      granted('47', 'NA', 'US', 'A1AMERICA', 'v1:k1:na-token');
      credential.run('48', 'FE', 'AU', 'A1AUSTRALIA', 'v1:k1:au-token', 'revoked', 'authorization_revoked (invalid_grant)', REQUESTED, GRANTED, GRANTED, V8_REVOKED);
      credential.run('49', 'FE', null, null, null, 'pending', null, REQUESTED, null, null, REQUESTED);
      granted('50', 'FE', 'SG', 'A1SINGAPORE', 'v1:k1:sg-token');
      granted('51', 'FE', 'CN', 'A1ELSEWHERE', 'v1:k1:cn-token');
      const attempt = db.prepare(
        `INSERT INTO sp_api_auth_attempts (flow, customer_id, region, marketplace, created_at, completed_at, outcome, reason)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      attempt.run('website', '47', 'FE', 'JP', REQUESTED, GRANTED, 'succeeded', null);
      attempt.run('website', '49', 'FE', null, REQUESTED, null, 'pending', null);
      attempt.run('website', '50', 'FE', 'SG', REQUESTED, GRANTED, 'succeeded', null);
      attempt.run('callback', null, null, null, REQUESTED, REQUESTED, 'refused', 'state_unknown');
      const shared = db.prepare(
        `INSERT INTO sp_api_access_tokens (customer_id, region, credential_generation, access_token, expires_at, refreshed_at, updated_at)
         VALUES (?, ?, 'authorized|A1|gen', ?, ?, ?, ?)`,
      );
      for (const [customer, region] of [['47', 'FE'], ['47', 'NA'], ['50', 'FE']] as const) shared.run(customer, region, `v1:k1:access-${customer}-${region}`, GRANTED, GRANTED, GRANTED);
      const check = db.prepare(`INSERT INTO sp_api_credential_checks (customer_id, region, checked_at, check_outcome, flag) VALUES (?, ?, ?, 'verified', ?)`);
      check.run('47', 'FE', GRANTED, null);
      check.run('47', 'NA', GRANTED, null);
      check.run('50', 'FE', GRANTED, 'region_mismatch');
      const event = db.prepare(`INSERT INTO sp_api_events (event_type, customer_id, region, selling_partner_id, occurred_at, data) VALUES (?, ?, ?, ?, ?, '{}')`);
      event.run('authorization.granted', '47', 'FE', 'A1JAPAN', GRANTED);
      event.run('authorization.granted', '47', 'NA', 'A1AMERICA', GRANTED);
      event.run('authorization.revoked', '48', 'FE', 'A1AUSTRALIA', V8_REVOKED);
      // A Far East event of a customer whose row is gone (unknown scope): JP, as for a row without a marketplace.
      event.run('authorization.unlinked', '52', 'FE', null, V8_REVOKED);
      expect(db.pragma('user_version', { simple: true })).toBe(8);
    } finally {
      db.close();
    }
    return path;
  }

  const rawRows = (path: string, query: string): Record<string, unknown>[] => {
    const db = new Database(path);
    try {
      return db.prepare(query).all() as Record<string, unknown>[];
    } finally {
      db.close();
    }
  };

  it("upgrades a version-8 file to version 9: each Far East row's marketplace is its scope (JP when it is none of the three), NA keeps its region", async () => {
    const path = v8File();
    const before = inspect(path);
    await (await openSqliteStore(path)).close();
    const after = inspect(path);
    expect(after.version).toBe(9);
    expect(after.credentials).toEqual(before.credentials.map(upgradedCredential));
    expect(rawRows(path, 'SELECT customer_id, scope, region, marketplace, status, revoked_at FROM sp_api_credentials ORDER BY customer_id, scope')).toEqual([
      { customer_id: '47', scope: 'JP', region: 'FE', marketplace: 'JP', status: 'authorized', revoked_at: null },
      { customer_id: '47', scope: 'NA', region: 'NA', marketplace: 'US', status: 'authorized', revoked_at: null },
      { customer_id: '48', scope: 'AU', region: 'FE', marketplace: 'AU', status: 'revoked', revoked_at: V8_REVOKED },
      { customer_id: '49', scope: 'JP', region: 'FE', marketplace: null, status: 'pending', revoked_at: null },
      { customer_id: '50', scope: 'SG', region: 'FE', marketplace: 'SG', status: 'authorized', revoked_at: null },
      { customer_id: '51', scope: 'JP', region: 'FE', marketplace: 'CN', status: 'authorized', revoked_at: null },
    ]);
  });

  it("moves a version-8 file's attempts, checks and events to their row's scope, and drops its Far East shared access tokens", async () => {
    const path = v8File();
    const store = await openSqliteStore(path);
    try {
      expect((await store.listAttempts()).map((a) => [a.flow, a.customerId, a.scope, a.region, a.marketplace])).toEqual([
        ['website', '47', 'JP', 'FE', 'JP'],
        ['website', '49', 'JP', 'FE', null],
        ['website', '50', 'SG', 'FE', 'SG'],
        ['callback', null, null, null, null],
      ]);
      expect((await store.listCredentialChecks()).map((c) => [c.customerId, c.scope, c.region, c.flag])).toEqual([
        ['47', 'JP', 'FE', null],
        ['47', 'NA', 'NA', null],
        ['50', 'SG', 'FE', 'region_mismatch'],
      ]);
      expect((await store.listEvents()).map((e) => [e.type, e.customerId, e.scope, e.region])).toEqual([
        ['authorization.granted', '47', 'JP', 'FE'],
        ['authorization.granted', '47', 'NA', 'NA'],
        ['authorization.revoked', '48', 'AU', 'FE'],
        ['authorization.unlinked', '52', 'JP', 'FE'],
      ]);
      // The Far East shared tokens are dropped (a miss costs one refresh); North America's is kept.
      expect(rawRows(path, 'SELECT customer_id, scope, region FROM sp_api_access_tokens ORDER BY customer_id, scope')).toEqual([{ customer_id: '47', scope: 'NA', region: 'NA' }]);
      expect((await store.readAccessTokenSource('47', 'JP'))?.shared).toBeUndefined();
      expect((await store.readAccessTokenSource('50', 'SG'))?.shared).toBeUndefined();
      expect((await store.readAccessTokenSource('47', 'NA'))?.shared?.accessToken).toBe('v1:k1:access-47-NA');
      // The rows read through the store with their scope; the revoked one with when it was refused.
      expect(await store.findCredential('48', 'AU')).toMatchObject({ scope: 'AU', region: 'FE', status: 'revoked', revokedAt: new Date(V8_REVOKED), lwaRefreshToken: 'v1:k1:au-token' });
      expect((await store.findCredential('47', 'JP'))?.lwaRefreshToken).toBe('v1:k1:jp-token');
      expect((await store.listSecretEnvelopes()).map((e) => [e.customerId, e.scope, e.refreshTokenFingerprint])).toEqual([
        ['47', 'JP', null],
        ['47', 'NA', null],
        ['48', 'AU', null],
        ['50', 'SG', null],
        ['51', 'JP', null],
      ]);
    } finally {
      await store.close();
    }
  });

  it('lets a customer of an upgraded version-8 file hold JP and AU side by side, one seller per scope', async () => {
    const store = await openSqliteStore(v8File());
    try {
      const now = new Date('2026-01-01T00:00:00.000Z');
      await store.startAuthorization({
        stateHash: '7'.repeat(64),
        browserBindingHash: '8'.repeat(64),
        flow: 'website',
        expectedSellingPartnerId: null,
        customerId: '47',
        scope: 'AU',
        marketplace: 'AU',
        createdAt: now,
        expiresAt: new Date(now.getTime() + 600_000),
      });
      const attempt = await store.findAttemptByStateHash('7'.repeat(64));
      expect(
        await store.acceptCallback({
          stateHash: '7'.repeat(64),
          now,
          sellingPartnerId: 'A1JAPAN',
          codeHash: 'c'.repeat(64),
          exchangeDeadline: new Date(now.getTime() + 300_000),
          customerId: '47',
          scope: 'AU',
          encryptedMwsAuthToken: undefined,
          encryptedCode: 'v1:k1:code',
        }),
      ).toEqual({ kind: 'consumed' });
      expect(
        await store.completeAuthorization({
          attemptId: attempt?.attemptId ?? 0,
          customerId: '47',
          scope: 'AU',
          marketplace: 'AU',
          sellingPartnerId: 'A1JAPAN',
          encryptedRefreshToken: 'v1:k1:au-token-47',
          refreshTokenFingerprint: 'k1:fingerprint-au-47',
          sharedAccessToken: undefined,
          now,
        }),
      ).toBe('stored');
      expect((await store.listCredentialsFor({ customerId: '47' })).map((r) => [r.scope, r.region, r.sellingPartnerId, r.status])).toEqual([
        ['AU', 'FE', 'A1JAPAN', 'authorized'],
        ['JP', 'FE', 'A1JAPAN', 'authorized'],
        ['NA', 'NA', 'A1AMERICA', 'authorized'],
      ]);
      // The partner index is per scope: another customer cannot take A1JAPAN in JP.
      expect(
        await store.recordCallback({ customerId: '49', scope: 'JP', sellingPartnerId: 'A1JAPAN', encryptedMwsAuthToken: undefined, encryptedCode: 'v1:k1:c', now }),
      ).toBe('partner_conflict');
    } finally {
      await store.close();
    }
  });

  it('a version-8 file and a fresh one end with the same schema; a failing version-9 step leaves the version-8 file as it was', async () => {
    const fresh = newPath();
    await (await openSqliteStore(fresh)).close();
    const upgraded = v8File();
    await (await openSqliteStore(upgraded)).close();
    expect(inspect(upgraded).schema).toEqual(inspect(fresh).schema);

    // A leftover table with the name the rebuild uses makes step 9 fail after it dropped the view and rebuilt a table.
    const failing = v8File('CREATE TABLE sp_api_access_tokens_v9 (x TEXT);');
    const before = { ...inspect(failing), attempts: rawAttempts(failing) };
    await expect(openSqliteStore(failing)).rejects.toThrow();
    expect({ ...inspect(failing), attempts: rawAttempts(failing) }).toEqual(before);
    expect(before.version).toBe(8);
  });

  describe('opened through App (which seals plain MWS tokens in a SQLite store)', () => {
    const KEYS = `k1:${randomBytes(32).toString('base64')}`;
    const cipher = (): TokenCipher => {
      const ring = parseKeyRing(KEYS);
      if (!ring.ok) throw new Error(ring.problem);
      return new TokenCipher(ring.keys);
    };

    /** The app as local runs wire it (settings as test/support/harness.ts builds them; nothing listens on LWA_TOKEN_URL). */
    const appOn = (path: string): App =>
      new App({
        values: {
          SPAPI_APPLICATION_ID: APPLICATION_ID,
          SPAPI_REDIRECT_URI: 'http://localhost:7071/api/lwa-callback',
          LWA_CLIENT_ID: CLIENT_ID,
          LWA_CLIENT_SECRET: `amzn1.oa2-cs.v1.${randomBytes(24).toString('hex')}`,
          LWA_TOKEN_URL: 'http://127.0.0.1:9/auth/o2/token',
          SELLER_CENTRAL_URL: 'http://localhost:7071/sandbox/sellercentral',
          LAUNCH_LINK_SECRET: randomBytes(32).toString('base64url'),
          TOKEN_ENCRYPTION_KEYS: KEYS,
          LOCAL_DB_PATH: path,
          OXWEBAPP_LINK_URL: 'http://localhost:7071/start/oxwebapp',
        },
        environment: { inAzure: false },
        logger: consoleLogger(() => undefined),
      });

    async function openThroughApp(path: string): Promise<App> {
      const app = appOn(path);
      const state = await app.state();
      if (!state.ok) throw new Error(state.problems.join('; '));
      return app;
    }

    const storedMws = (path: string): string | null => {
      const db = new Database(path, { readonly: true });
      try {
        const row = db.prepare(`SELECT mws_auth_token FROM sp_api_credentials WHERE customer_id = 'cust-old' AND region = 'NA'`).get() as { mws_auth_token: string | null };
        return row.mws_auth_token;
      } finally {
        db.close();
      }
    };

    it('turns the plain MWS token into an envelope that decrypts, bound to its column, customer and region, to the old value', async () => {
      const path = v3File();
      expect(storedMws(path)).toBe(PLAIN_MWS);
      await (await openThroughApp(path)).close();

      const envelope = storedMws(path) ?? '';
      expect(envelope).toMatch(/^v1:k1:/);
      expect(cipher().decrypt(envelope, { column: 'mws_auth_token', customerId: 'cust-old', region: 'NA' })).toBe(PLAIN_MWS);
      expect(() => cipher().decrypt(envelope, { column: 'mws_auth_token', customerId: 'cust-rev', region: 'NA' })).toThrow();
      expect(() => cipher().decrypt(envelope, { column: 'mws_auth_token', customerId: 'cust-old', region: 'EU' })).toThrow();
      expect(() => cipher().decrypt(envelope, { column: 'spapi_oauth_code', customerId: 'cust-old', region: 'NA' })).toThrow();
    });

    it('leaves the plain MWS token in neither the file nor its WAL, while the app runs and after it closes', async () => {
      const path = v3File();
      const holdsPlain = (): string[] =>
        ['', '-wal'].filter((suffix) => existsSync(`${path}${suffix}`) && readFileSync(`${path}${suffix}`).includes(PLAIN_MWS));
      expect(holdsPlain()).toEqual(['']);

      const app = await openThroughApp(path);
      try {
        expect(holdsPlain()).toEqual([]);
      } finally {
        await app.close();
      }
      expect(holdsPlain()).toEqual([]);
    });

    it('opening the sealed file through App again changes nothing', async () => {
      const path = v3File();
      await (await openThroughApp(path)).close();
      const sealed = { ...inspect(path), attempts: rawAttempts(path) };
      await (await openThroughApp(path)).close();
      expect({ ...inspect(path), attempts: rawAttempts(path) }).toEqual(sealed);
    });
  });
});

/** A row of the SQLite view as the store's CredentialStatusRow, to hold the view (for people) to the domain's rule. */
function viewRow(row: Record<string, unknown>): CredentialStatusRow {
  const date = (v: unknown): Date | null => (typeof v === 'string' ? new Date(v) : null);
  const textOf = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  return {
    customerId: String(row['customer_id']),
    scope: row['scope'] as CredentialStatusRow['scope'],
    region: row['region'] as CredentialStatusRow['region'],
    marketplace: textOf(row['marketplace']),
    sellingPartnerId: textOf(row['selling_partner_id']),
    status: row['status'] as CredentialStatusRow['status'],
    authRequestedDate: date(row['auth_requested_date']),
    authGrantedDate: date(row['auth_granted_date']),
    revokedAt: date(row['revoked_at']),
    hasRefreshToken: row['has_refresh_token'] === 1,
    reauthorizeBy: date(row['reauthorize_by']),
    daysLeft: typeof row['days_left'] === 'number' ? row['days_left'] : null,
    lastError: textOf(row['last_error']),
    lastAttemptAt: date(row['last_attempt_at']),
    lastAttemptOutcome: (textOf(row['last_attempt_outcome']) as CredentialStatusRow['lastAttemptOutcome']) ?? null,
    lastAttemptReason: textOf(row['last_attempt_reason']),
  };
}
