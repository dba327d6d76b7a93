import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { Region } from '../authorization/marketplaces.js';
import type { SecretColumn } from '../crypto/tokenCipher.js';
import {
  formatLastError,
  LIMITS,
  type AttemptConsumption,
  type AttemptRecord,
  type CallbackRecord,
  type CompletedAuthorization,
  type EnvelopeReplacement,
  type FailedAuthorization,
  type RefusedCallback,
  type Revocation,
  type CredentialSecrets,
  type CredentialStatusRow,
  type CredentialStore,
  type CredentialSummary,
  type NewAttempt,
  type SecretEnvelopes,
  type StatusFilter,
} from './credentialStore.js';
import { expiringWithinMs, recentAttemptsLimit, text, toAttempt, toCredential, toStatusRow, toSummary, type Row } from './rows.js';

/**
 * Embedded store for local runs, the sandbox and tests: the same table and column names as SQL Server
 * (sql/*.sql), with dates as ISO-8601 UTC text. better-sqlite3 is a devDependency, loaded only when this store is
 * chosen, so production installs never need it.
 *
 * The schema is versioned with `PRAGMA user_version`: SCHEMA[i] takes a file from version i to i + 1, and
 * openSqliteStore applies, in one transaction, the steps above the file's version. Every file, fresh or old, runs
 * the same steps, so they all end with the same schema. A shipped step is never edited: add one instead.
 */

/**
 * Version 1: the schema as first shipped. Files created before versioning hold exactly this with user_version 0;
 * every statement is IF NOT EXISTS, so it is a no-op for them and creates everything in a fresh file.
 */
const SCHEMA_V1 = `
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
 * Version 2: status 'revoked' (LWA refused the refresh token), as sql/003_access_tokens.sql does for SQL Server.
 * SQLite cannot change a CHECK constraint in place, so sp_api_credentials is rebuilt (the procedure of
 * https://www.sqlite.org/lang_altertable.html#otheralter; no foreign keys, triggers or views refer to it). Dropping
 * the old table drops its index, which is then created again on the new one. sp_api_auth_attempts.flow has no CHECK
 * in SQLite, so 'refresh' needs no change there.
 */
const SCHEMA_V2 = `
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
 * Version 3, as sql/004_ops_view.sql does for SQL Server: (1) the Login-URI flows ('reauthorize', 'appstore') record
 * the seller Amazon named on the attempt, expected_selling_partner_id (flow has no CHECK in SQLite, so the new flows
 * need no change; the length CHECK matches SQL Server's VARCHAR(64)); (2) the ops view sp_api_credentials_status,
 * for `sqlite3 .data/local.sqlite "SELECT * FROM sp_api_credentials_status"`: one row per credential row, never a
 * secret column, with the re-authorization deadline Amazon sets (auth_granted_date + 365 days, authorized rows
 * only), the whole days left to it (floored: negative once past), status 'expired' once it has passed, and the
 * newest attempt of that customer and region (by created_at, then attempt_id).
 *
 * The view reads SQLite's clock ('now'). SqliteStore.listCredentialStatus reads the view but recomputes the two
 * clock-dependent columns (status, days_left) for the caller's `now`, so tests and `npm run ops` with a moved clock
 * agree; every other rule (no secrets, reauthorize_by, which attempt is the last) is defined here only.
 * Milliseconds are rounded before the days are floored: julianday differences are floating point, and 355 days
 * could otherwise come out as 354.9999999 days.
 *
 * A later step that rebuilds either table (the V2 procedure) must DROP VIEW sp_api_credentials_status first and
 * create it again afterwards: ALTER TABLE ... RENAME checks the views that name the tables.
 */
const SCHEMA_V3 = `
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

/** The steps, in order: a file at user_version v needs SCHEMA[v] onwards. */
const SCHEMA: readonly string[] = [SCHEMA_V1, SCHEMA_V2, SCHEMA_V3];

/** The user_version of a file this code has opened. */
export const SQLITE_SCHEMA_VERSION = SCHEMA.length;

/**
 * Brings the file to SQLITE_SCHEMA_VERSION in one IMMEDIATE transaction (the write lock is taken before the version
 * is read, so two processes opening the same file do not both migrate it); user_version is written in the same
 * transaction, so a failed step leaves the file as it was. A file from newer code is refused, not downgraded.
 */
function migrate(db: BetterSqlite3.Database): void {
  db.transaction(() => {
    const current = Number(db.pragma('user_version', { simple: true }));
    if (!Number.isSafeInteger(current) || current < 0 || current > SQLITE_SCHEMA_VERSION) {
      throw new Error(`SQLite schema version ${String(current)} is not one this code knows (0 to ${SQLITE_SCHEMA_VERSION}): was the file written by newer code?`);
    }
    for (const step of SCHEMA.slice(current)) db.exec(step);
    // Integer from a constant, never from input: PRAGMA takes no parameters.
    if (current < SQLITE_SCHEMA_VERSION) db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
  }).immediate();
}

export async function openSqliteStore(path: string): Promise<SqliteStore> {
  const { default: Database } = await import('better-sqlite3');
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return new SqliteStore(db);
}

const iso = (d: Date): string => d.toISOString();

export class SqliteStore implements CredentialStore {
  constructor(private readonly db: BetterSqlite3.Database) {}

  async startAuthorization(a: NewAttempt): Promise<void> {
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO sp_api_auth_attempts
             (state_hash, browser_binding_hash, flow, expected_selling_partner_id, customer_id, region, marketplace, created_at,
              expires_at, outcome)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
        )
        .run(
          a.stateHash,
          a.browserBindingHash,
          a.flow,
          a.expectedSellingPartnerId,
          a.customerId,
          a.region,
          a.marketplace,
          iso(a.createdAt),
          iso(a.expiresAt),
        );
      this.db
        .prepare(
          `INSERT INTO sp_api_credentials (customer_id, region, marketplace, status, auth_requested_date, updated_at)
           VALUES (?, ?, ?, 'pending', ?, ?)
           ON CONFLICT (customer_id, region) DO UPDATE SET
             auth_requested_date = excluded.auth_requested_date,
             updated_at = excluded.updated_at,
             marketplace = CASE WHEN status = 'authorized' THEN marketplace ELSE excluded.marketplace END,
             status = CASE WHEN status = 'authorized' THEN status ELSE 'pending' END`,
        )
        .run(a.customerId, a.region, a.marketplace, iso(a.createdAt), iso(a.createdAt));
    })();
  }

  async findAttemptByStateHash(stateHash: string): Promise<AttemptRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM sp_api_auth_attempts WHERE state_hash = ?').get(stateHash) as Row | undefined;
    return row === undefined ? undefined : toAttempt(row);
  }

  async consumeAttempt(input: AttemptConsumption): Promise<boolean> {
    const result = this.db
      .prepare(
        `UPDATE sp_api_auth_attempts SET consumed_at = ?, selling_partner_id = ?, code_hash = ?
         WHERE state_hash = ? AND consumed_at IS NULL AND expires_at > ?`,
      )
      .run(iso(input.now), input.sellingPartnerId, input.codeHash, input.stateHash, iso(input.now));
    return result.changes === 1;
  }

  async findAuthorizedCustomer(sellingPartnerId: string, region: Region): Promise<string | undefined> {
    const row = this.db
      .prepare(`SELECT customer_id FROM sp_api_credentials WHERE selling_partner_id = ? AND region = ? AND status = 'authorized'`)
      .get(sellingPartnerId, region) as Row | undefined;
    return text(row?.['customer_id']) ?? undefined;
  }

  async recordCallback(input: CallbackRecord): Promise<'recorded' | 'partner_conflict'> {
    return this.withPartnerGuard(() => {
      this.releasePartner(input.sellingPartnerId, input.region, input.customerId, input.now);
      this.db
        .prepare(
          `UPDATE sp_api_credentials SET
             selling_partner_id = CASE WHEN status = 'authorized' THEN selling_partner_id ELSE ? END,
             mws_auth_token = COALESCE(?, mws_auth_token),
             spapi_oauth_code = ?,
             updated_at = ?
           WHERE customer_id = ? AND region = ?`,
        )
        .run(input.sellingPartnerId, input.mwsAuthToken ?? null, input.encryptedCode, iso(input.now), input.customerId, input.region);
      return 'recorded' as const;
    });
  }

  async completeAuthorization(input: CompletedAuthorization): Promise<'stored' | 'partner_conflict'> {
    return this.withPartnerGuard(() => {
      const now = iso(input.now);
      this.releasePartner(input.sellingPartnerId, input.region, input.customerId, input.now);
      const updated = this.db
        .prepare(
          `UPDATE sp_api_credentials SET
             selling_partner_id = ?, marketplace = ?, lwa_refresh_token = ?, status = 'authorized', last_error = NULL,
             auth_granted_date = ?, lwa_refresh_token_date = ?, updated_at = ?
           WHERE customer_id = ? AND region = ?`,
        )
        .run(input.sellingPartnerId, input.marketplace, input.encryptedRefreshToken, now, now, now, input.customerId, input.region);
      if (updated.changes !== 1) throw new Error('credential row missing for a consumed attempt');
      this.db
        .prepare(`UPDATE sp_api_auth_attempts SET outcome = 'succeeded', reason = NULL, completed_at = ? WHERE attempt_id = ?`)
        .run(now, input.attemptId);
      return 'stored' as const;
    });
  }

  async failAuthorization(input: FailedAuthorization): Promise<void> {
    const now = iso(input.now);
    this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE sp_api_auth_attempts SET outcome = 'failed', reason = ?, lwa_error = ?, lwa_error_description = ?, completed_at = ?
           WHERE attempt_id = ?`,
        )
        .run(input.failure.reason, input.failure.lwaError ?? null, input.failure.lwaErrorDescription ?? null, now, input.attemptId);
      this.db
        .prepare(
          `UPDATE sp_api_credentials SET
             status = CASE WHEN status = 'authorized' THEN status ELSE 'failed' END, last_error = ?, updated_at = ?
           WHERE customer_id = ? AND region = ?`,
        )
        .run(formatLastError(input.failure), now, input.customerId, input.region);
    })();
  }

  async recordRefusedCallback(input: RefusedCallback): Promise<void> {
    const r = input.related;
    this.db
      .prepare(
        `INSERT INTO sp_api_auth_attempts
           (flow, customer_id, region, marketplace, selling_partner_id, created_at, completed_at, outcome, reason, related_attempt_id)
         VALUES ('callback', ?, ?, ?, ?, ?, ?, 'refused', ?, ?)`,
      )
      .run(
        r?.customerId ?? null,
        r?.region ?? null,
        r?.marketplace ?? null,
        input.sellingPartnerId ?? null,
        iso(input.now),
        iso(input.now),
        input.reason,
        r?.attemptId ?? null,
      );
  }

  async markRevoked(input: Revocation): Promise<boolean> {
    const now = iso(input.now);
    return this.db.transaction(() => {
      // One conditional UPDATE decides; RETURNING hands back the row's marketplace and partner for the audit row.
      const revoked = this.db
        .prepare(
          `UPDATE sp_api_credentials SET status = 'revoked', last_error = ?, updated_at = ?
           WHERE customer_id = ? AND region = ? AND status = 'authorized' AND lwa_refresh_token = ?
           RETURNING marketplace, selling_partner_id`,
        )
        .all(formatLastError(input.failure), now, input.customerId, input.region, input.expectedRefreshToken) as Row[];
      const [row] = revoked;
      if (row === undefined) return false;
      this.db
        .prepare(
          `INSERT INTO sp_api_auth_attempts
             (flow, customer_id, region, marketplace, selling_partner_id, created_at, completed_at, outcome, reason,
              lwa_error, lwa_error_description)
           VALUES ('refresh', ?, ?, ?, ?, ?, ?, 'failed', ?, ?, ?)`,
        )
        .run(
          input.customerId,
          input.region,
          text(row['marketplace']),
          text(row['selling_partner_id']),
          now,
          now,
          input.failure.reason,
          clip(input.failure.lwaError, LIMITS.lwaError),
          clip(input.failure.lwaErrorDescription, LIMITS.lwaErrorDescription),
        );
      return true;
    })();
  }

  async listSecretEnvelopes(): Promise<SecretEnvelopes[]> {
    const rows = this.db
      .prepare(
        `SELECT customer_id, region, lwa_refresh_token, spapi_oauth_code FROM sp_api_credentials
         WHERE lwa_refresh_token IS NOT NULL OR spapi_oauth_code IS NOT NULL
         ORDER BY customer_id, region`,
      )
      .all() as Row[];
    return rows.map((row) => ({
      customerId: String(row['customer_id']),
      region: row['region'] as Region,
      lwaRefreshToken: text(row['lwa_refresh_token']),
      spapiOauthCode: text(row['spapi_oauth_code']),
    }));
  }

  /** Leaves updated_at alone: re-encrypting an envelope does not change the authorization. */
  async replaceEnvelope(input: EnvelopeReplacement): Promise<boolean> {
    const result = this.db
      .prepare(REPLACE_ENVELOPE[secretColumn(input.column)])
      .run(input.replacement, input.customerId, input.region, input.expected);
    return result.changes === 1;
  }

  async listCredentials(): Promise<CredentialSummary[]> {
    const rows = this.db.prepare('SELECT *, lwa_refresh_token IS NOT NULL AS has_refresh_token FROM sp_api_credentials ORDER BY updated_at DESC').all() as Row[];
    return rows.map(toSummary);
  }

  async listCredentialsFor(filter: { customerId: string } | { sellingPartnerId: string }): Promise<CredentialSummary[]> {
    const { by, value } = credentialFilter(filter);
    const rows = this.db
      .prepare(
        by === 'customer'
          ? `SELECT ${SUMMARY_COLUMNS} FROM sp_api_credentials WHERE customer_id = ? ORDER BY customer_id, region`
          : `SELECT ${SUMMARY_COLUMNS} FROM sp_api_credentials WHERE selling_partner_id = ? ORDER BY customer_id, region`,
      )
      .all(value) as Row[];
    return rows.map(toSummary);
  }

  async findCredential(customerId: string, region: Region): Promise<(CredentialSummary & CredentialSecrets) | undefined> {
    const row = this.db
      .prepare('SELECT *, lwa_refresh_token IS NOT NULL AS has_refresh_token FROM sp_api_credentials WHERE customer_id = ? AND region = ?')
      .get(customerId, region) as Row | undefined;
    return row === undefined ? undefined : toCredential(row);
  }

  async listAttempts(filter: { customerId?: string } = {}): Promise<AttemptRecord[]> {
    const rows = (
      filter.customerId === undefined
        ? this.db.prepare('SELECT * FROM sp_api_auth_attempts ORDER BY attempt_id').all()
        : this.db.prepare('SELECT * FROM sp_api_auth_attempts WHERE customer_id = ? ORDER BY attempt_id').all(filter.customerId)
    ) as Row[];
    return rows.map(toAttempt);
  }

  /**
   * Reads the view (its rules: columns, reauthorize_by, last attempt) and recomputes status and days_left for the
   * caller's `now` instead of SQLite's clock: the same expressions as the view, with @now for 'now'.
   */
  async listCredentialStatus(filter: StatusFilter, now: Date): Promise<CredentialStatusRow[]> {
    const withinMs = expiringWithinMs(filter.expiringWithinDays);
    const conditions: string[] = [];
    const params: Record<string, string | number> = { now: iso(now) };
    if (filter.customerId !== undefined) {
      conditions.push('customer_id = @customerId');
      params['customerId'] = filter.customerId;
    }
    if (withinMs !== undefined) {
      conditions.push('ms_left < @withinMs');
      params['withinMs'] = withinMs;
    }
    const rows = this.db
      .prepare(
        `SELECT * FROM (
           SELECT
             customer_id, region, marketplace, selling_partner_id,
             CASE WHEN ms_left IS NULL THEN view_status WHEN ms_left < 0 THEN 'expired' ELSE 'authorized' END AS status,
             auth_requested_date, auth_granted_date, reauthorize_by,
             CASE
               WHEN ms_left IS NULL THEN NULL
               WHEN ms_left >= 0 THEN ms_left / 86400000
               ELSE -((86399999 - ms_left) / 86400000)
             END AS days_left,
             last_error, last_attempt_at, last_attempt_outcome, last_attempt_reason
           FROM (
             SELECT
               v.customer_id, v.region, v.marketplace, v.selling_partner_id, v.status AS view_status,
               v.auth_requested_date, v.auth_granted_date, v.reauthorize_by, v.last_error,
               v.last_attempt_at, v.last_attempt_outcome, v.last_attempt_reason,
               CAST(round((julianday(v.reauthorize_by) - julianday(@now)) * 86400000) AS INTEGER) AS ms_left
             FROM sp_api_credentials_status AS v
           )
           ${conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`}
         )
         ORDER BY days_left IS NULL, days_left, customer_id, region`,
      )
      .all(params) as Row[];
    return rows.map(toStatusRow);
  }

  async listRecentAttempts(filter: { customerId?: string | undefined; since: Date; limit?: number | undefined }): Promise<AttemptRecord[]> {
    const limit = recentAttemptsLimit(filter.limit);
    const rows = (
      filter.customerId === undefined
        ? this.db
            .prepare('SELECT * FROM sp_api_auth_attempts WHERE created_at >= ? ORDER BY created_at DESC, attempt_id DESC LIMIT ?')
            .all(iso(filter.since), limit)
        : this.db
            .prepare(
              'SELECT * FROM sp_api_auth_attempts WHERE created_at >= ? AND customer_id = ? ORDER BY created_at DESC, attempt_id DESC LIMIT ?',
            )
            .all(iso(filter.since), filter.customerId, limit)
    ) as Row[];
    return rows.map(toAttempt);
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.db.close();
  }

  /** Another customer's row that is not authorized gives up the partner id (the unique index allows one holder). */
  private releasePartner(sellingPartnerId: string, region: Region, customerId: string, now: Date): void {
    this.db
      .prepare(
        `UPDATE sp_api_credentials SET selling_partner_id = NULL, updated_at = ?
         WHERE selling_partner_id = ? AND region = ? AND customer_id <> ? AND status <> 'authorized'`,
      )
      .run(iso(now), sellingPartnerId, region, customerId);
  }

  private withPartnerGuard<T>(work: () => T): T | 'partner_conflict' {
    try {
      return this.db.transaction(work)();
    } catch (error) {
      if (isUniqueViolation(error)) return 'partner_conflict';
      throw error;
    }
  }
}

/** The summary columns: no secret column is read, so none can leak into a summary. */
const SUMMARY_COLUMNS = `customer_id, region, marketplace, selling_partner_id, status, last_error, auth_requested_date,
  auth_granted_date, lwa_refresh_token_date, updated_at, lwa_refresh_token IS NOT NULL AS has_refresh_token`;

/** One fixed statement per secret column: the column name comes from this table, never from the caller's text. */
const REPLACE_ENVELOPE: Readonly<Record<SecretColumn, string>> = {
  lwa_refresh_token: `UPDATE sp_api_credentials SET lwa_refresh_token = ?
    WHERE customer_id = ? AND region = ? AND lwa_refresh_token = ?`,
  spapi_oauth_code: `UPDATE sp_api_credentials SET spapi_oauth_code = ?
    WHERE customer_id = ? AND region = ? AND spapi_oauth_code = ?`,
};

/** Refuses, at run time too, anything but the two secret columns. */
function secretColumn(column: string): SecretColumn {
  if (column === 'lwa_refresh_token' || column === 'spapi_oauth_code') return column;
  throw new Error('replaceEnvelope: column must be lwa_refresh_token or spapi_oauth_code');
}

/** Exactly one of customerId / sellingPartnerId, as a string (other keys, e.g. a region, are ignored). */
function credentialFilter(filter: { customerId: string } | { sellingPartnerId: string }): { by: 'customer' | 'seller'; value: string } {
  const customerId: unknown = 'customerId' in filter ? filter.customerId : undefined;
  const sellingPartnerId: unknown = 'sellingPartnerId' in filter ? filter.sellingPartnerId : undefined;
  if (typeof customerId === 'string' && sellingPartnerId === undefined) return { by: 'customer', value: customerId };
  if (typeof sellingPartnerId === 'string' && customerId === undefined) return { by: 'seller', value: sellingPartnerId };
  throw new Error('listCredentialsFor: give either customerId or sellingPartnerId, as a string');
}

const clip = (value: string | undefined, max: number): string | null => (value === undefined ? null : value.slice(0, max));

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'SQLITE_CONSTRAINT_UNIQUE';
}
