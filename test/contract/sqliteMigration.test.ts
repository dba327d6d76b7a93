import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
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

  it('upgrades a version-1 file: the row survives, user_version becomes 2, and markRevoked works on it', async () => {
    expect(SQLITE_SCHEMA_VERSION).toBe(2);
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
      expect([attempt?.attemptId, attempt?.flow, attempt?.outcome, attempt?.customerId]).toEqual([1, 'website', 'succeeded', 'cust-old']);
      expect(await store.findAuthorizedCustomer('APARTNER1', 'NA')).toBe('cust-old');

      // The partner index was rebuilt: another customer still cannot take an authorized partner.
      await store.startAuthorization({
        stateHash: 'd'.repeat(64),
        browserBindingHash: 'e'.repeat(64),
        flow: 'website',
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
          mwsAuthToken: undefined,
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
    expect(after.version).toBe(2);
    const table = after.schema.find((o) => (o as { name: string }).name === 'sp_api_credentials') as { sql: string } | undefined;
    expect(table?.sql).toContain("'revoked'");
  });

  it('a fresh file and an upgraded one end with the same schema, and opening again changes nothing', async () => {
    const fresh = newPath();
    await (await openSqliteStore(fresh)).close();
    const upgraded = oldFile();
    await (await openSqliteStore(upgraded)).close();

    const freshState = inspect(fresh);
    const upgradedState = inspect(upgraded);
    expect(freshState.version).toBe(2);
    expect(upgradedState.schema).toEqual(freshState.schema);
    expect(upgradedState.version).toBe(freshState.version);
    expect((freshState.schema as { name: string }[]).map((o) => o.name)).toEqual(
      expect.arrayContaining(['sp_api_credentials', 'ux_sp_api_credentials_partner', 'sp_api_auth_attempts', 'ux_sp_api_auth_attempts_state', 'ix_sp_api_auth_attempts_customer']),
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
    await expect(openSqliteStore(path)).rejects.toThrow(/version 3/);
    expect(inspect(path)).toEqual(before);
  });
});
