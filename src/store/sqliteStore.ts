import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { statusCaseSql, lastAttemptConditionSql } from './sqlRules.js';
import {
  CHECK_LIMITS,
  DELIVERY_ERROR_LIMIT,
  eventDataJson,
  failureData,
  flagAfter,
  formatLastError,
  grantedData,
  healthSampleSize,
  LIMITS,
  MAX_OPEN_ATTEMPTS,
  MAX_REFUSALS_PER_ATTEMPT,
  UNLINKED_DATA,
  type AccessTokenLeaseClaim,
  type AccessTokenSource,
  type AttemptConsumption,
  type AttemptPurge,
  type AttemptRecord,
  type CallbackAcceptance,
  type CallbackAcceptanceResult,
  type CallbackRecord,
  type CheckClaim,
  type CheckResult,
  type CompletedAuthorization,
  type CredentialCheckRecord,
  type CredentialSecrets,
  type CredentialStatusRow,
  type CredentialStore,
  type CredentialSummary,
  type DeadlineReminder,
  type DeliveryResult,
  type EnvelopeReplacement,
  type EventClaim,
  type EventFilter,
  type EventPurge,
  type EventRecord,
  type FailedAuthorization,
  type HealthProbe,
  type ImportedRefreshToken,
  type LoginUriStart,
  type LoginUriStartResult,
  type NewAttempt,
  type NewEvent,
  type RefusedCallback,
  type Region,
  type Revocation,
  type SecretColumn,
  type SecretEnvelopes,
  type SharedAccessTokenWrite,
  type StatusFilter,
  type StoreHealth,
  type Unlink,
  type UnlinkResult,
} from '../credentials/index.js';
import {
  expiringWithinMs,
  recentAttemptsLimit,
  SHARED_TOKEN_COLUMNS,
  text,
  toAccessTokenSource,
  toAttempt,
  toCredential,
  toEnvelopeSample,
  toRegion,
  toStatusRow,
  toSummary,
  type Row,
} from './rows.js';
import { checkListText, eventBatchLimit, eventListLimit, toCheck, toEvent } from './eventRows.js';

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

/**
 * Version 4, as sql/005_truthful_record.sql does for SQL Server:
 * (1) sp_api_credentials is rebuilt (V2's procedure; the view is dropped first and created again below, since
 *     RENAME checks the views that name the table): status may be 'unlinked' (ops unlink); lwa_refresh_token holds up
 *     to 8000 characters (the envelope of the longest token the LWA client accepts); mws_auth_token holds an envelope
 *     (up to 1024) instead of the plain token. Plain MWS tokens already stored are sealed by the app when it opens a
 *     SQLite store, and by `npm run tokens:reencrypt` / `npm run db:migrate` (the store has no keys).
 * (2) sp_api_auth_attempts gains exchange_deadline (set when the state is consumed; a pending attempt past it reads
 *     'interrupted') and refusal_count (refused callbacks recorded against the attempt, at most 20). Attempts that old
 *     code consumed and never finished get a deadline 10 minutes after consumption, so they read 'interrupted' too;
 *     refusal_count starts as the refused callbacks old code recorded against the attempt.
 *     An index on created_at serves the purge and the recent-attempts listing.
 * (3) The view: the last attempt is the newest one STARTED for the row (website, appstore, and reauthorize once a
 *     callback consumed it: the Login URI is anonymous, and an unanswered request there must not hide an outcome), so refused
 *     callbacks, revocation audits and ops actions never replace it; its outcome reads 'abandoned' (pending, never
 *     consumed, past expires_at) or 'interrupted' (pending, consumed, past exchange_deadline) by SQLite's clock, and
 *     the view also shows that attempt's expires_at and exchange_deadline, from which listCredentialStatus recomputes
 *     the outcome for the caller's clock.
 */
const SCHEMA_V4 = `
DROP VIEW sp_api_credentials_status;

CREATE TABLE sp_api_credentials_v4 (
  customer_id            TEXT NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 64),
  region                 TEXT NOT NULL CHECK (region IN ('NA', 'EU', 'FE')),
  marketplace            TEXT NULL,
  selling_partner_id     TEXT NULL CHECK (length(selling_partner_id) <= 64),
  mws_auth_token         TEXT NULL CHECK (length(mws_auth_token) <= 1024),
  spapi_oauth_code       TEXT NULL CHECK (length(spapi_oauth_code) <= 1024),
  lwa_refresh_token      TEXT NULL CHECK (length(lwa_refresh_token) <= 8000),
  status                 TEXT NOT NULL CHECK (status IN ('pending', 'authorized', 'failed', 'revoked', 'unlinked')),
  last_error             TEXT NULL,
  auth_requested_date    TEXT NULL,
  auth_granted_date      TEXT NULL,
  lwa_refresh_token_date TEXT NULL,
  updated_at             TEXT NOT NULL,
  PRIMARY KEY (customer_id, region)
);
INSERT INTO sp_api_credentials_v4
  (customer_id, region, marketplace, selling_partner_id, mws_auth_token, spapi_oauth_code, lwa_refresh_token, status,
   last_error, auth_requested_date, auth_granted_date, lwa_refresh_token_date, updated_at)
SELECT
   customer_id, region, marketplace, selling_partner_id, mws_auth_token, spapi_oauth_code, lwa_refresh_token, status,
   last_error, auth_requested_date, auth_granted_date, lwa_refresh_token_date, updated_at
FROM sp_api_credentials;
DROP TABLE sp_api_credentials;
ALTER TABLE sp_api_credentials_v4 RENAME TO sp_api_credentials;
CREATE UNIQUE INDEX ux_sp_api_credentials_partner
  ON sp_api_credentials (selling_partner_id, region) WHERE selling_partner_id IS NOT NULL;

ALTER TABLE sp_api_auth_attempts ADD COLUMN exchange_deadline TEXT NULL;
ALTER TABLE sp_api_auth_attempts ADD COLUMN refusal_count INTEGER NOT NULL DEFAULT 0 CHECK (refusal_count >= 0);
UPDATE sp_api_auth_attempts
  SET refusal_count = (
    SELECT COUNT(*) FROM sp_api_auth_attempts AS r
    WHERE r.related_attempt_id = sp_api_auth_attempts.attempt_id AND r.flow = 'callback' AND r.outcome = 'refused')
  WHERE attempt_id IN (SELECT related_attempt_id FROM sp_api_auth_attempts WHERE flow = 'callback' AND outcome = 'refused');
UPDATE sp_api_auth_attempts
  SET exchange_deadline = strftime('%Y-%m-%dT%H:%M:%fZ', consumed_at, '+10 minutes')
  WHERE outcome = 'pending' AND consumed_at IS NOT NULL;
CREATE INDEX ix_sp_api_auth_attempts_created ON sp_api_auth_attempts (created_at);

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
  CASE
    WHEN last_attempt_outcome = 'pending' AND last_attempt_exchange_deadline IS NULL AND last_attempt_expires_at <= clock_now THEN 'abandoned'
    WHEN last_attempt_outcome = 'pending' AND last_attempt_exchange_deadline <= clock_now THEN 'interrupted'
    ELSE last_attempt_outcome
  END AS last_attempt_outcome,
  last_attempt_reason,
  last_attempt_expires_at,
  last_attempt_exchange_deadline
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
      a.reason AS last_attempt_reason,
      a.expires_at AS last_attempt_expires_at,
      a.exchange_deadline AS last_attempt_exchange_deadline
    FROM sp_api_credentials AS c
    LEFT JOIN sp_api_auth_attempts AS a ON a.attempt_id = (
      SELECT l.attempt_id FROM sp_api_auth_attempts AS l
      WHERE l.customer_id = c.customer_id AND l.region = c.region
        AND (l.flow IN ('website', 'appstore') OR (l.flow = 'reauthorize' AND l.consumed_at IS NOT NULL))
      ORDER BY l.created_at DESC, l.attempt_id DESC
      LIMIT 1
    )
  ) AS d
) AS m;
`;

/**
 * Version 5 (sql/006_shared_access_tokens.sql): the access token every instance shares per (customer, region), the
 * credential generation that made it, and the refresh lease (owner, deadline). One row per credential row (the key
 * is the same pair; rows are written only while the credential row exists). The token is a TokenCipher envelope.
 */
const SCHEMA_V5 = `
CREATE TABLE sp_api_access_tokens (
  customer_id            TEXT NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 64),
  region                 TEXT NOT NULL CHECK (region IN ('NA', 'EU', 'FE')),
  credential_generation  TEXT NULL CHECK (length(credential_generation) <= 160),
  access_token           TEXT NULL CHECK (length(access_token) <= 8000),
  expires_at             TEXT NULL,
  refreshed_at           TEXT NULL,
  lease_owner            TEXT NULL CHECK (length(lease_owner) <= 64),
  lease_until            TEXT NULL,
  updated_at             TEXT NOT NULL,
  PRIMARY KEY (customer_id, region)
);
`;

/**
 * Version 6 (issue 11; versions 5 and 8 belong to other changes and the merge numbers the steps), as
 * sql/007_events.sql does for SQL Server: the events outbox sp_api_events. One row per change of a seller's
 * authorization, written in the transaction of the change; `data` is JSON without secrets; delivery_state, the tries
 * made, when to try next (also the lease of a try in progress), when delivered and the last delivery error serve the
 * Standard Webhooks delivery (src/events/webhookDelivery.ts). The queue index serves "the oldest pending event of each
 * (customer, region)"; the occurred_at index the retention purge.
 */
const SCHEMA_V6 = `
CREATE TABLE sp_api_events (
  event_id             INTEGER PRIMARY KEY AUTOINCREMENT,
  event_type           TEXT NOT NULL CHECK (length(event_type) <= 40),
  customer_id          TEXT NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 64),
  region               TEXT NOT NULL CHECK (region IN ('NA', 'EU', 'FE')),
  selling_partner_id   TEXT NULL CHECK (length(selling_partner_id) <= 64),
  occurred_at          TEXT NOT NULL,
  data                 TEXT NOT NULL CHECK (length(data) <= 4000),
  delivery_state       TEXT NOT NULL DEFAULT 'pending' CHECK (delivery_state IN ('pending', 'delivered', 'failed')),
  delivery_attempts    INTEGER NOT NULL DEFAULT 0 CHECK (delivery_attempts >= 0),
  next_attempt_at      TEXT NULL,
  delivered_at         TEXT NULL,
  last_delivery_error  TEXT NULL CHECK (length(last_delivery_error) <= 500)
);
CREATE INDEX ix_sp_api_events_queue ON sp_api_events (customer_id, region, delivery_state, event_id);
CREATE INDEX ix_sp_api_events_occurred ON sp_api_events (occurred_at);
`;

/**
 * Version 7 (issue 11; renumbered when merged), as sql/008_credential_sweep.sql does for SQL Server: the credential
 * sweep's side table sp_api_credential_checks, one row per (customer, region) it has looked at: its lease
 * (lease_until), the last check (checked_at, check_outcome, check_error), what SP-API's marketplaceParticipations said
 * (verified_at, marketplace_ids and country_codes comma-separated, store_name), the ops flag ('spapi_access_denied',
 * 'region_mismatch'; never a status), and the re-authorization reminder sent (reminded_threshold 30/7/0 for
 * reminded_for_grant = the auth_granted_date it was about).
 */
const SCHEMA_V7 = `
CREATE TABLE sp_api_credential_checks (
  customer_id          TEXT NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 64),
  region               TEXT NOT NULL CHECK (region IN ('NA', 'EU', 'FE')),
  lease_until          TEXT NULL,
  checked_at           TEXT NULL,
  check_outcome        TEXT NULL CHECK (check_outcome IN ('verified', 'region_mismatch', 'access_denied', 'revoked', 'rate_limited', 'error')),
  check_error          TEXT NULL CHECK (length(check_error) <= 500),
  verified_at          TEXT NULL,
  marketplace_ids      TEXT NULL CHECK (length(marketplace_ids) <= 1000),
  country_codes        TEXT NULL CHECK (length(country_codes) <= 400),
  store_name           TEXT NULL CHECK (length(store_name) <= 200),
  flag                 TEXT NULL CHECK (flag IN ('spapi_access_denied', 'region_mismatch')),
  reminded_threshold   INTEGER NULL CHECK (reminded_threshold IN (30, 7, 0)),
  reminded_for_grant   TEXT NULL,
  PRIMARY KEY (customer_id, region)
);
`;

/**
 * Version 8 (sql/009_service_heartbeat.sql): the heartbeat row /api/health writes, so health sees a store that
 * refuses writes. One row, id 1, seeded here.
 */
const SCHEMA_V8 = `
CREATE TABLE IF NOT EXISTS service_heartbeat (
  id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  beat_at TEXT NOT NULL
);
INSERT OR IGNORE INTO service_heartbeat (id, beat_at) VALUES (1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
`;

/** The steps, in order: a file at user_version v needs SCHEMA[v] onwards. */
const SCHEMA: readonly string[] = [SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7, SCHEMA_V8];

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
    // Opening may wait for another process's migration. Afterwards requests wait only briefly: better-sqlite3 waits
    // for a lock synchronously, holding the event loop, so the flow retries (isTransientError) asynchronously instead.
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    // Freed pages and cells are zeroed, so a value replaced or moved (a plain MWS token sealed, a table rebuilt by a
    // schema step) leaves no copy in the file's free space.
    db.pragma('secure_delete = ON');
    migrate(db);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  } catch (error) {
    db.close();
    throw error;
  }
  return new SqliteStore(db);
}

const iso = (d: Date): string => d.toISOString();
const BUSY_TIMEOUT_MS = 200;

/**
 * Every write transaction is IMMEDIATE: it takes the write lock when it begins, so a busy file makes it wait
 * (busy_timeout) and then fail as transient. A deferred one that reads before it writes would instead fail at once,
 * without waiting, whenever another connection wrote in between (SQLITE_BUSY_SNAPSHOT).
 */
export class SqliteStore implements CredentialStore {
  constructor(private readonly db: BetterSqlite3.Database) {}

  async startAuthorization(a: NewAttempt): Promise<'started' | 'too_many_open'> {
    return this.db.transaction((): 'started' | 'too_many_open' => this.insertAttempt(a)).immediate();
  }

  /** One IMMEDIATE transaction: the rows holding the seller are read and the attempt inserted under the write lock. */
  async startLoginUriAttempt(input: LoginUriStart): Promise<LoginUriStartResult> {
    return this.db.transaction((): LoginUriStartResult => {
      const rows = this.db
        .prepare(
          `SELECT customer_id, region, marketplace FROM sp_api_credentials
           WHERE selling_partner_id = ? AND (? IS NULL OR region = ?) LIMIT 2`,
        )
        .all(input.sellingPartnerId, input.region ?? null, input.region ?? null) as Row[];
      const [row] = rows;
      if (row === undefined) return { kind: 'unknown_seller' };
      if (rows.length > 1) return { kind: 'ambiguous' };
      const customerId = String(row['customer_id']);
      const region = toRegion(row['region']);
      const stored = text(row['marketplace']);
      const marketplace = stored !== null && input.marketplaces.includes(stored) ? stored : input.defaultMarketplaces[region];
      const started = this.insertAttempt({
        stateHash: input.stateHash,
        browserBindingHash: input.browserBindingHash,
        flow: 'reauthorize',
        expectedSellingPartnerId: input.sellingPartnerId,
        customerId,
        region,
        marketplace,
        createdAt: input.createdAt,
        expiresAt: input.expiresAt,
      });
      return started === 'started' ? { kind: 'started', customerId, region, marketplace } : { kind: 'too_many_open', customerId, region };
    }).immediate();
  }

  /** startAuthorization's work, inside the caller's transaction. */
  private insertAttempt(a: NewAttempt): 'started' | 'too_many_open' {
    const open = this.db
      .prepare(
        `SELECT COUNT(*) AS n FROM sp_api_auth_attempts
         WHERE customer_id = ? AND region = ? AND outcome = 'pending' AND consumed_at IS NULL AND expires_at > ?
           AND (flow = 'reauthorize') = (? = 'reauthorize')`,
      )
      .get(a.customerId, a.region, iso(a.createdAt), a.flow) as Row;
    if (Number(open['n']) >= MAX_OPEN_ATTEMPTS) return 'too_many_open';
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
    // The anonymous Login URI writes no credential column; the signed flows note the request (the seed's step 1).
    if (a.flow === 'reauthorize') return 'started';
    this.db
      .prepare(
        `INSERT INTO sp_api_credentials (customer_id, region, marketplace, status, auth_requested_date, updated_at)
         VALUES (?, ?, ?, 'pending', ?, ?)
         ON CONFLICT (customer_id, region) DO UPDATE SET
           auth_requested_date = excluded.auth_requested_date,
           updated_at = excluded.updated_at`,
      )
      .run(a.customerId, a.region, a.marketplace, iso(a.createdAt), iso(a.createdAt));
    return 'started';
  }

  async findAttemptByStateHash(stateHash: string): Promise<AttemptRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM sp_api_auth_attempts WHERE state_hash = ?').get(stateHash) as Row | undefined;
    return row === undefined ? undefined : toAttempt(row);
  }

  async consumeAttempt(input: AttemptConsumption): Promise<boolean> {
    const result = this.db
      .prepare(
        `UPDATE sp_api_auth_attempts SET consumed_at = ?, selling_partner_id = ?, code_hash = ?, exchange_deadline = ?
         WHERE state_hash = ? AND consumed_at IS NULL AND expires_at > ?`,
      )
      .run(iso(input.now), input.sellingPartnerId, input.codeHash, iso(input.exchangeDeadline), input.stateHash, iso(input.now));
    return result.changes === 1;
  }

  /**
   * One IMMEDIATE transaction: nothing changes between the guards' reads and the record, so the partner index cannot
   * refuse the record here (a refusal would roll the consumption back too and be thrown).
   */
  async acceptCallback(input: CallbackAcceptance): Promise<CallbackAcceptanceResult> {
    return this.db.transaction((): CallbackAcceptanceResult => {
      const consumed = this.db
        .prepare(
          `UPDATE sp_api_auth_attempts SET consumed_at = ?, selling_partner_id = ?, code_hash = ?, exchange_deadline = ?
           WHERE state_hash = ? AND consumed_at IS NULL AND outcome = 'pending' AND expires_at > ?`,
        )
        .run(iso(input.now), input.sellingPartnerId, input.codeHash, iso(input.exchangeDeadline), input.stateHash, iso(input.now));
      if (consumed.changes !== 1) return { kind: 'not_consumable' };
      const linked = this.db
        .prepare(
          `SELECT selling_partner_id FROM sp_api_credentials
           WHERE customer_id = ? AND region = ? AND status = 'authorized' AND selling_partner_id <> ?`,
        )
        .get(input.customerId, input.region, input.sellingPartnerId) as Row | undefined;
      const linkedPartner = text(linked?.['selling_partner_id']);
      if (linkedPartner !== null) return { kind: 'partner_changed', linked: linkedPartner };
      const held = this.db
        .prepare(`SELECT 1 FROM sp_api_credentials WHERE selling_partner_id = ? AND region = ? AND customer_id <> ? AND status = 'authorized'`)
        .get(input.sellingPartnerId, input.region, input.customerId);
      if (held !== undefined) return { kind: 'partner_conflict' };
      this.writeCallback(input);
      return { kind: 'consumed' };
    }).immediate();
  }

  async recordCallback(input: CallbackRecord): Promise<'recorded' | 'partner_conflict'> {
    return this.withPartnerGuard(() => {
      this.writeCallback(input);
      return 'recorded' as const;
    });
  }

  /** The record of a callback on its (customer, region) row, inside the caller's transaction. */
  private writeCallback(input: CallbackRecord): void {
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
      .run(input.sellingPartnerId, input.encryptedMwsAuthToken ?? null, input.encryptedCode, iso(input.now), input.customerId, input.region);
  }

  async completeAuthorization(input: CompletedAuthorization): Promise<'stored' | 'partner_conflict' | 'partner_changed'> {
    return this.withPartnerGuard(() => {
      const now = iso(input.now);
      // The transaction holds the write lock: nothing changes the row between this read and the update.
      const current = this.db
        .prepare('SELECT status, selling_partner_id FROM sp_api_credentials WHERE customer_id = ? AND region = ?')
        .get(input.customerId, input.region) as Row | undefined;
      const linked = text(current?.['selling_partner_id']);
      if (current?.['status'] === 'authorized' && linked !== null && linked !== input.sellingPartnerId) {
        // Another customer's claim on this seller is the first thing to report, as before.
        const owned = this.db
          .prepare(`SELECT 1 FROM sp_api_credentials WHERE selling_partner_id = ? AND region = ? AND customer_id <> ? AND status = 'authorized'`)
          .get(input.sellingPartnerId, input.region, input.customerId);
        return owned === undefined ? ('partner_changed' as const) : ('partner_conflict' as const);
      }
      this.releasePartner(input.sellingPartnerId, input.region, input.customerId, input.now);
      const updated = this.db
        .prepare(
          `UPDATE sp_api_credentials SET
             selling_partner_id = ?, marketplace = ?, lwa_refresh_token = ?, status = ${statusCaseSql('succeeded')}, last_error = NULL,
             auth_granted_date = ?, lwa_refresh_token_date = ?, updated_at = ?
           WHERE customer_id = ? AND region = ?`,
        )
        .run(input.sellingPartnerId, input.marketplace, input.encryptedRefreshToken, now, now, now, input.customerId, input.region);
      if (updated.changes !== 1) throw new Error('credential row missing for a consumed attempt');
      this.db
        .prepare(`UPDATE sp_api_auth_attempts SET outcome = 'succeeded', reason = NULL, completed_at = ? WHERE attempt_id = ?`)
        .run(now, input.attemptId);
      this.insertEvent({
        type: current?.['status'] === 'authorized' ? 'authorization.reauthorized' : 'authorization.granted',
        customerId: input.customerId,
        region: input.region,
        sellingPartnerId: input.sellingPartnerId,
        occurredAt: input.now,
        data: grantedData(input.marketplace, input.now),
      });
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
             status = ${statusCaseSql('failed')}, last_error = ?, updated_at = ?
           WHERE customer_id = ? AND region = ?`,
        )
        .run(formatLastError(input.failure), now, input.customerId, input.region);
      // An authorized row keeps its token through a failed authorization: only a row that reads failed tells oxWebApp.
      const row = this.db
        .prepare(`SELECT selling_partner_id FROM sp_api_credentials WHERE customer_id = ? AND region = ? AND status = 'failed'`)
        .get(input.customerId, input.region) as Row | undefined;
      if (row !== undefined) {
        this.insertEvent({
          type: 'authorization.failed',
          customerId: input.customerId,
          region: input.region,
          sellingPartnerId: text(row['selling_partner_id']),
          occurredAt: input.now,
          data: failureData(input.failure),
        });
      }
    }).immediate();
  }

  async recordRefusedCallback(input: RefusedCallback): Promise<boolean> {
    const r = input.related;
    return this.db.transaction(() => {
      // The count on the attempt bounds the audit: one conditional UPDATE decides whether this one is recorded.
      const counted = this.db
        .prepare(`UPDATE sp_api_auth_attempts SET refusal_count = refusal_count + 1 WHERE attempt_id = ? AND refusal_count < ?`)
        .run(r.attemptId, MAX_REFUSALS_PER_ATTEMPT);
      if (counted.changes !== 1) return false;
      this.db
        .prepare(
          `INSERT INTO sp_api_auth_attempts
             (flow, customer_id, region, marketplace, selling_partner_id, created_at, completed_at, outcome, reason, related_attempt_id)
           VALUES ('callback', ?, ?, ?, ?, ?, ?, 'refused', ?, ?)`,
        )
        .run(r.customerId, r.region, r.marketplace, input.sellingPartnerId ?? null, iso(input.now), iso(input.now), input.reason, r.attemptId);
      return true;
    }).immediate();
  }

  async unlinkCredential(input: Unlink): Promise<UnlinkResult> {
    const now = iso(input.now);
    return this.db.transaction((): UnlinkResult => {
      const before = this.db
        .prepare('SELECT status, selling_partner_id, marketplace FROM sp_api_credentials WHERE customer_id = ? AND region = ?')
        .get(input.customerId, input.region) as Row | undefined;
      if (before === undefined) return { kind: 'not_found' };
      this.db
        .prepare(
          `UPDATE sp_api_credentials SET
             selling_partner_id = NULL, lwa_refresh_token = NULL, spapi_oauth_code = NULL, mws_auth_token = NULL,
             status = ${statusCaseSql('unlinked')}, last_error = NULL, updated_at = ?
           WHERE customer_id = ? AND region = ?`,
        )
        .run(now, input.customerId, input.region);
      // The shared access token was made from the token just removed: never served again, so not kept either.
      this.db.prepare('DELETE FROM sp_api_access_tokens WHERE customer_id = ? AND region = ?').run(input.customerId, input.region);
      const previousSellingPartnerId = text(before['selling_partner_id']);
      this.db
        .prepare(
          `INSERT INTO sp_api_auth_attempts
             (flow, customer_id, region, marketplace, selling_partner_id, created_at, completed_at, outcome, reason)
           VALUES ('ops', ?, ?, ?, ?, ?, ?, 'succeeded', 'unlinked')`,
        )
        .run(input.customerId, input.region, text(before['marketplace']), previousSellingPartnerId, now, now);
      // A row already unlinked has nothing left to tell oxWebApp (the ops attempt above still records the command).
      if (before['status'] !== 'unlinked') {
        this.insertEvent({
          type: 'authorization.unlinked',
          customerId: input.customerId,
          region: input.region,
          sellingPartnerId: previousSellingPartnerId,
          occurredAt: input.now,
          data: UNLINKED_DATA,
        });
      }
      return { kind: 'unlinked', previousSellingPartnerId, previousStatus: toSummary({ ...before, customer_id: input.customerId, region: input.region, updated_at: now }).status };
    }).immediate();
  }

  async purgeAttempts(input: AttemptPurge): Promise<number> {
    const params = { olderThan: iso(input.olderThan), now: iso(input.now), limit: purgeLimit(input.limit) };
    const victims = `
      SELECT a.attempt_id FROM sp_api_auth_attempts AS a
      WHERE a.created_at < @olderThan
        AND (a.outcome <> 'pending'
             OR (a.exchange_deadline IS NULL AND a.expires_at <= @now)
             OR a.exchange_deadline <= @now)
        -- COALESCE: where no started attempt exists (a NULL subquery), nothing is protected, rather than everything.
        AND a.attempt_id <> COALESCE((
          SELECT l.attempt_id FROM sp_api_auth_attempts AS l
          WHERE l.customer_id = a.customer_id AND l.region = a.region AND ${lastAttemptConditionSql('l')}
          ORDER BY l.created_at DESC, l.attempt_id DESC LIMIT 1), -1)
      ORDER BY a.created_at, a.attempt_id
      LIMIT @limit`;
    if (input.dryRun) return Number((this.db.prepare(`SELECT COUNT(*) AS n FROM (${victims})`).get(params) as Row)['n']);
    return this.db.prepare(`DELETE FROM sp_api_auth_attempts WHERE attempt_id IN (${victims})`).run(params).changes;
  }

  isTransientError(error: unknown): boolean {
    // SQLITE_BUSY (another connection holds the write lock past busy_timeout) and SQLITE_LOCKED, with their
    // extended codes (SQLITE_BUSY_SNAPSHOT, …).
    return error instanceof Error && 'code' in error && typeof error.code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(error.code);
  }

  async markRevoked(input: Revocation): Promise<boolean> {
    const now = iso(input.now);
    return this.db.transaction(() => {
      // One conditional UPDATE decides; RETURNING hands back the row's marketplace and partner for the audit row.
      const revoked = this.db
        .prepare(
          `UPDATE sp_api_credentials SET status = ${statusCaseSql('revoked')}, last_error = ?, updated_at = ?
           WHERE customer_id = ? AND region = ? AND status = 'authorized' AND lwa_refresh_token = ?
           RETURNING marketplace, selling_partner_id`,
        )
        .all(formatLastError(input.failure), now, input.customerId, input.region, input.expectedRefreshToken) as Row[];
      const [row] = revoked;
      if (row === undefined) return false;
      this.db.prepare('DELETE FROM sp_api_access_tokens WHERE customer_id = ? AND region = ?').run(input.customerId, input.region);
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
      this.insertEvent({
        type: 'authorization.revoked',
        customerId: input.customerId,
        region: input.region,
        sellingPartnerId: text(row['selling_partner_id']),
        occurredAt: input.now,
        data: failureData(input.failure),
      });
      return true;
    }).immediate();
  }

  async listSecretEnvelopes(): Promise<SecretEnvelopes[]> {
    const rows = this.db
      .prepare(
        `SELECT customer_id, region, lwa_refresh_token, spapi_oauth_code, mws_auth_token FROM sp_api_credentials
         WHERE lwa_refresh_token IS NOT NULL OR spapi_oauth_code IS NOT NULL OR mws_auth_token IS NOT NULL
         ORDER BY customer_id, region`,
      )
      .all() as Row[];
    return rows.map((row) => ({
      customerId: String(row['customer_id']),
      region: row['region'] as Region,
      lwaRefreshToken: text(row['lwa_refresh_token']),
      spapiOauthCode: text(row['spapi_oauth_code']),
      mwsAuthToken: text(row['mws_auth_token']),
    }));
  }

  /** Leaves updated_at alone: re-encrypting an envelope does not change the authorization. */
  async replaceEnvelope(input: EnvelopeReplacement): Promise<boolean> {
    const result = this.db
      .prepare(REPLACE_ENVELOPE[secretColumn(input.column)])
      .run(input.replacement, input.customerId, input.region, input.expected);
    // The replaced value (a plain MWS token, an envelope under a retired key) is still in earlier WAL frames: copy the
    // zeroed pages into the file and empty the WAL. Best effort: a reader still using old frames leaves it for later.
    if (result.changes === 1) this.db.pragma('wal_checkpoint(TRUNCATE)');
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
             last_error, last_attempt_at,
             CASE
               WHEN view_outcome IS NULL THEN NULL -- no started attempt (NOT IN would be NULL too, and fall to 'pending')
               WHEN view_outcome NOT IN ('pending', 'abandoned', 'interrupted') THEN view_outcome
               WHEN last_attempt_exchange_deadline IS NULL AND last_attempt_expires_at <= @now THEN 'abandoned'
               WHEN last_attempt_exchange_deadline <= @now THEN 'interrupted'
               ELSE 'pending'
             END AS last_attempt_outcome,
             last_attempt_reason
           FROM (
             SELECT
               v.customer_id, v.region, v.marketplace, v.selling_partner_id, v.status AS view_status,
               v.auth_requested_date, v.auth_granted_date, v.reauthorize_by, v.last_error,
               v.last_attempt_at, v.last_attempt_outcome AS view_outcome, v.last_attempt_reason,
               v.last_attempt_expires_at, v.last_attempt_exchange_deadline,
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

  async readAccessTokenSource(customerId: string, region: Region): Promise<AccessTokenSource | undefined> {
    const row = this.db
      .prepare(
        `SELECT c.*, c.lwa_refresh_token IS NOT NULL AS has_refresh_token, ${SHARED_TOKEN_COLUMNS}
         FROM sp_api_credentials AS c
         LEFT JOIN sp_api_access_tokens AS t ON t.customer_id = c.customer_id AND t.region = c.region
         WHERE c.customer_id = ? AND c.region = ?`,
      )
      .get(customerId, region) as Row | undefined;
    return row === undefined ? undefined : toAccessTokenSource(row);
  }

  async claimAccessTokenLease(input: AccessTokenLeaseClaim): Promise<boolean> {
    const now = iso(input.now);
    // One statement: the INSERT when the row is missing (only beside an existing credential row), else the
    // conditional UPDATE of the upsert. ISO-8601 UTC text compares in time order.
    const result = this.db
      .prepare(
        `INSERT INTO sp_api_access_tokens (customer_id, region, lease_owner, lease_until, updated_at)
         SELECT customer_id, region, @owner, @until, @now FROM sp_api_credentials WHERE customer_id = @customerId AND region = @region
         ON CONFLICT (customer_id, region) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until, updated_at = excluded.updated_at
         WHERE sp_api_access_tokens.lease_owner IS NULL OR sp_api_access_tokens.lease_until <= @now OR sp_api_access_tokens.lease_owner = @owner`,
      )
      .run({ owner: input.owner, until: iso(input.until), now, customerId: input.customerId, region: input.region });
    return result.changes === 1;
  }

  async storeSharedAccessToken(input: SharedAccessTokenWrite): Promise<boolean> {
    const now = iso(input.now);
    const result = this.db
      .prepare(
        `UPDATE sp_api_access_tokens
         SET credential_generation = @generation, access_token = @accessToken, expires_at = @expiresAt, refreshed_at = @now,
             lease_owner = NULL, lease_until = NULL, updated_at = @now
         WHERE customer_id = @customerId AND region = @region AND lease_owner = @owner
           AND EXISTS (
             SELECT 1 FROM sp_api_credentials AS c
             WHERE c.customer_id = @customerId AND c.region = @region AND c.status = 'authorized'
               AND c.selling_partner_id = @sellingPartnerId AND c.lwa_refresh_token = @expected)`,
      )
      .run({
        generation: input.generation,
        accessToken: input.accessToken,
        expiresAt: iso(input.expiresAt),
        now,
        customerId: input.customerId,
        region: input.region,
        owner: input.owner,
        sellingPartnerId: input.sellingPartnerId,
        expected: input.expectedRefreshToken,
      });
    return result.changes === 1;
  }

  async releaseAccessTokenLease(input: { customerId: string; region: Region; owner: string }): Promise<void> {
    this.db
      .prepare('UPDATE sp_api_access_tokens SET lease_owner = NULL, lease_until = NULL WHERE customer_id = ? AND region = ? AND lease_owner = ?')
      .run(input.customerId, input.region, input.owner);
  }

  async claimDueEvents(claim: EventClaim): Promise<EventRecord[]> {
    // One statement: the heads of the queues that are due, leased by the same UPDATE.
    const rows = this.db
      .prepare(
        `UPDATE sp_api_events SET next_attempt_at = @leaseUntil
         WHERE event_id IN (
           SELECT e.event_id FROM sp_api_events AS e
           WHERE e.delivery_state = 'pending' AND (e.next_attempt_at IS NULL OR e.next_attempt_at <= @now)
             AND NOT EXISTS (
               SELECT 1 FROM sp_api_events AS p
               WHERE p.customer_id = e.customer_id AND p.region = e.region AND p.delivery_state = 'pending' AND p.event_id < e.event_id)
           ORDER BY e.event_id
           LIMIT @limit)
         RETURNING *`,
      )
      .all({ now: iso(claim.now), leaseUntil: iso(claim.leaseUntil), limit: eventBatchLimit(claim.limit) }) as Row[];
    return rows.map(toEvent).sort((a, b) => a.eventId - b.eventId);
  }

  async recordDelivery(result: DeliveryResult): Promise<void> {
    const now = iso(result.now);
    const [state, next, deliveredAt, error] =
      result.outcome === 'delivered'
        ? ['delivered', null, now, null]
        : result.outcome === 'retry'
          ? ['pending', iso(result.nextAttemptAt), null, result.error.slice(0, DELIVERY_ERROR_LIMIT)]
          : ['failed', null, null, result.error.slice(0, DELIVERY_ERROR_LIMIT)];
    this.db
      .prepare(
        `UPDATE sp_api_events SET delivery_state = ?, next_attempt_at = ?, delivered_at = ?, last_delivery_error = ?,
           delivery_attempts = delivery_attempts + 1
         WHERE event_id = ? AND delivery_state = 'pending'`,
      )
      .run(state, next, deliveredAt, error, result.eventId);
  }

  async purgeEvents(purge: EventPurge): Promise<number> {
    const params = { olderThan: iso(purge.olderThan), limit: eventBatchLimit(purge.limit) };
    const victims = `SELECT event_id FROM sp_api_events WHERE delivery_state = 'delivered' AND occurred_at < @olderThan
      ORDER BY event_id LIMIT @limit`;
    if (purge.dryRun) return Number((this.db.prepare(`SELECT COUNT(*) AS n FROM (${victims})`).get(params) as Row)['n']);
    return this.db.prepare(`DELETE FROM sp_api_events WHERE event_id IN (${victims})`).run(params).changes;
  }

  async listEvents(filter: EventFilter = {}): Promise<EventRecord[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM sp_api_events
         WHERE (@customerId IS NULL OR customer_id = @customerId) AND event_id > @after
         ORDER BY event_id LIMIT @limit`,
      )
      .all({ customerId: filter.customerId ?? null, after: filter.afterEventId ?? 0, limit: eventListLimit(filter) }) as Row[];
    return rows.map(toEvent);
  }

  async importRefreshToken(input: ImportedRefreshToken): Promise<'stored' | 'partner_changed' | 'partner_conflict'> {
    return this.withPartnerGuard(() => {
      const now = iso(input.now);
      const current = this.db
        .prepare('SELECT status, selling_partner_id FROM sp_api_credentials WHERE customer_id = ? AND region = ?')
        .get(input.customerId, input.region) as Row | undefined;
      const linked = text(current?.['selling_partner_id']);
      if (current?.['status'] === 'authorized' && linked !== null && linked !== input.sellingPartnerId) return 'partner_changed' as const;
      const held = this.db
        .prepare(`SELECT 1 FROM sp_api_credentials WHERE selling_partner_id = ? AND region = ? AND customer_id <> ? AND status = 'authorized'`)
        .get(input.sellingPartnerId, input.region, input.customerId);
      if (held !== undefined) return 'partner_conflict' as const;
      this.releasePartner(input.sellingPartnerId, input.region, input.customerId, input.now);
      this.db
        .prepare(
          `INSERT INTO sp_api_credentials (customer_id, region, marketplace, status, auth_requested_date, updated_at)
           VALUES (?, ?, ?, 'pending', ?, ?)
           ON CONFLICT (customer_id, region) DO NOTHING`,
        )
        .run(input.customerId, input.region, input.marketplace, now, now);
      this.db
        .prepare(
          `UPDATE sp_api_credentials SET
             selling_partner_id = ?, marketplace = ?, lwa_refresh_token = ?, status = ${statusCaseSql('succeeded')}, last_error = NULL,
             auth_granted_date = ?, lwa_refresh_token_date = ?, updated_at = ?
           WHERE customer_id = ? AND region = ?`,
        )
        .run(input.sellingPartnerId, input.marketplace, input.encryptedRefreshToken, now, now, now, input.customerId, input.region);
      this.db
        .prepare(
          `INSERT INTO sp_api_auth_attempts
             (flow, customer_id, region, marketplace, selling_partner_id, created_at, consumed_at, completed_at, outcome)
           VALUES ('self_authorization', ?, ?, ?, ?, ?, ?, ?, 'succeeded')`,
        )
        .run(input.customerId, input.region, input.marketplace, input.sellingPartnerId, now, now, now);
      this.insertEvent({
        type: current?.['status'] === 'authorized' ? 'authorization.reauthorized' : 'authorization.granted',
        customerId: input.customerId,
        region: input.region,
        sellingPartnerId: input.sellingPartnerId,
        occurredAt: input.now,
        data: { ...grantedData(input.marketplace, input.now), flow: 'self_authorization' },
      });
      return 'stored' as const;
    });
  }

  async claimCredentialCheck(claim: CheckClaim): Promise<boolean> {
    const params = {
      customerId: claim.customerId,
      region: claim.region,
      now: iso(claim.now),
      leaseUntil: iso(claim.leaseUntil),
      runStartedAt: iso(claim.runStartedAt),
    };
    // One statement decides: insert the row leased, or take the lease of a row that is free and unchecked this run.
    const result = this.db
      .prepare(
        `INSERT INTO sp_api_credential_checks (customer_id, region, lease_until) VALUES (@customerId, @region, @leaseUntil)
         ON CONFLICT (customer_id, region) DO UPDATE SET lease_until = excluded.lease_until
         WHERE (sp_api_credential_checks.lease_until IS NULL OR sp_api_credential_checks.lease_until <= @now)
           AND (sp_api_credential_checks.checked_at IS NULL OR sp_api_credential_checks.checked_at < @runStartedAt)`,
      )
      .run(params);
    return result.changes === 1;
  }

  async recordCredentialCheck(result: CheckResult): Promise<void> {
    const now = iso(result.now);
    const flag = flagAfter(result.outcome);
    const p = result.participation;
    this.db.transaction(() => {
      const before = this.db
        .prepare('SELECT flag FROM sp_api_credential_checks WHERE customer_id = ? AND region = ?')
        .get(result.customerId, result.region) as Row | undefined;
      this.db
        .prepare(
          `UPDATE sp_api_credential_checks SET
             lease_until = NULL, checked_at = @now, check_outcome = @outcome, check_error = @error,
             verified_at = CASE WHEN @seen = 1 THEN @now ELSE verified_at END,
             marketplace_ids = CASE WHEN @seen = 1 THEN @marketplaceIds ELSE marketplace_ids END,
             country_codes = CASE WHEN @seen = 1 THEN @countryCodes ELSE country_codes END,
             store_name = CASE WHEN @seen = 1 THEN @storeName ELSE store_name END,
             flag = CASE WHEN @setsFlag = 1 THEN @flag ELSE flag END
           WHERE customer_id = @customerId AND region = @region`,
        )
        .run({
          now,
          outcome: result.outcome,
          error: result.error === null ? null : result.error.slice(0, CHECK_LIMITS.checkError),
          seen: p === undefined ? 0 : 1,
          marketplaceIds: p === undefined ? null : checkListText(p.marketplaceIds, CHECK_LIMITS.marketplaceIds),
          countryCodes: p === undefined ? null : checkListText(p.countryCodes, CHECK_LIMITS.countryCodes),
          storeName: p?.storeName?.slice(0, CHECK_LIMITS.storeName) ?? null,
          setsFlag: flag === undefined ? 0 : 1,
          flag: flag ?? null,
          customerId: result.customerId,
          region: result.region,
        });
      if (result.flagEvent !== undefined && flag !== undefined && flag !== null && before !== undefined && before['flag'] !== flag) {
        this.insertEvent(result.flagEvent);
      }
    }).immediate();
  }

  async recordDeadlineReminder(reminder: DeadlineReminder): Promise<boolean> {
    const params = {
      customerId: reminder.customerId,
      region: reminder.region,
      grantedAt: iso(reminder.grantedAt),
      threshold: reminder.threshold,
    };
    return this.db.transaction(() => {
      const current = this.db
        .prepare(`SELECT 1 FROM sp_api_credentials WHERE customer_id = @customerId AND region = @region AND status = 'authorized' AND auth_granted_date = @grantedAt`)
        .get(params);
      if (current === undefined) return false;
      const marked = this.db
        .prepare(
          `INSERT INTO sp_api_credential_checks (customer_id, region, reminded_threshold, reminded_for_grant)
           VALUES (@customerId, @region, @threshold, @grantedAt)
           ON CONFLICT (customer_id, region) DO UPDATE SET reminded_threshold = excluded.reminded_threshold, reminded_for_grant = excluded.reminded_for_grant
           WHERE sp_api_credential_checks.reminded_for_grant IS NULL OR sp_api_credential_checks.reminded_for_grant <> @grantedAt
              OR sp_api_credential_checks.reminded_threshold > @threshold`,
        )
        .run(params);
      if (marked.changes !== 1) return false;
      this.insertEvent(reminder.event);
      return true;
    }).immediate();
  }

  async listCredentialChecks(filter: { customerId?: string | undefined } = {}): Promise<CredentialCheckRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM sp_api_credential_checks WHERE (@customerId IS NULL OR customer_id = @customerId) ORDER BY customer_id, region')
      .all({ customerId: filter.customerId ?? null }) as Row[];
    return rows.map(toCheck);
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async checkHealth(probe: HealthProbe): Promise<StoreHealth> {
    const size = healthSampleSize(probe.sampleSize);
    let writeRefused: string | undefined;
    try {
      this.db
        .prepare('INSERT INTO service_heartbeat (id, beat_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at')
        .run(iso(probe.now));
    } catch (error) {
      writeRefused = error instanceof Error ? error.message : 'unknown error';
    }
    const version = Number(this.db.pragma('user_version', { simple: true }));
    const schemaBehind =
      version < SQLITE_SCHEMA_VERSION ? `the SQLite file is at schema version ${version}, this code needs ${SQLITE_SCHEMA_VERSION}: restart to upgrade it` : undefined;
    const sample = `SELECT customer_id, region, lwa_refresh_token FROM sp_api_credentials WHERE lwa_refresh_token IS NOT NULL`;
    const rows = this.db
      .prepare(
        `SELECT * FROM (${sample} ORDER BY lwa_refresh_token_date DESC, customer_id LIMIT ?)
         UNION SELECT * FROM (${sample} ORDER BY lwa_refresh_token_date ASC, customer_id LIMIT ?)`,
      )
      .all(size, size) as Row[];
    const samples = rows.map(toEnvelopeSample).filter((sample) => sample !== undefined);
    return { writeRefused, schemaBehind, samples };
  }

  async close(): Promise<void> {
    this.db.close();
  }

  /** Inside a caller's transaction: the event of the change that transaction makes. */
  private insertEvent(event: NewEvent): void {
    this.db
      .prepare(
        `INSERT INTO sp_api_events (event_type, customer_id, region, selling_partner_id, occurred_at, data)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(event.type, event.customerId, event.region, event.sellingPartnerId, iso(event.occurredAt), eventDataJson(event.data));
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
      return this.db.transaction(work).immediate();
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
  mws_auth_token: `UPDATE sp_api_credentials SET mws_auth_token = ?
    WHERE customer_id = ? AND region = ? AND mws_auth_token = ?`,
};

/** Refuses, at run time too, anything but the secret columns. */
function secretColumn(column: string): SecretColumn {
  if (column === 'lwa_refresh_token' || column === 'spapi_oauth_code' || column === 'mws_auth_token') return column;
  throw new Error('replaceEnvelope: column must be lwa_refresh_token, spapi_oauth_code or mws_auth_token');
}


function purgeLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 100_000) throw new Error('purge limit must be a whole number from 1 to 100000');
  return limit;
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
