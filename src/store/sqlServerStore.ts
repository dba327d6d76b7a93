import sql from 'mssql';
import { closePool, getPool, type SqlServerSettings } from './mssql/pool.js';
import { statusCaseSql, lastAttemptConditionSql } from './sqlRules.js';
import {
  CHECK_LIMITS,
  CREDENTIAL_STATUSES,
  DELIVERY_ERROR_LIMIT,
  EVENT_DATA_LIMIT,
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
  type FailureDetails,
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
import type { StoreSettings } from '../config/settings.js';
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
import { assertSchemaName, DEFAULT_SCHEMA } from './migrations.js';

/**
 * The production store: Azure SQL / SQL Server through mssql (tedious), same behaviour as SqliteStore (the contract
 * suite in test/contract runs against both). Tables come from sql/*.sql (`npm run db:migrate`); this class never
 * creates them. Every statement is parameterized with an explicit type.
 *
 * Every method is ONE round trip: one batch through `oneBatch` (text + typed inputs), its transaction, if it needs
 * one, written inside the T-SQL (`SET XACT_ABORT ON; BEGIN TRANSACTION; ... COMMIT TRANSACTION;`), its answer read
 * from the batch's one SELECT (a status column) or from rowsAffected. Adding a method = one batch + one mapping.
 *
 * Correctness rests on keys and single-statement conditional updates, never on lock hints or isolation levels (Azure
 * SQL runs READ COMMITTED SNAPSHOT; Babelfish ignores hints); no MERGE. The attempt is consumed by one conditional
 * UPDATE; the (customer, region) row is upserted as UPDATE, then INSERT when no row was there, the whole transaction
 * tried again when a concurrent start inserted that row first (duplicate key); the filtered unique index on
 * (selling_partner_id, region) turns a partner held by another authorized row into a duplicate key, which the batch's
 * CATCH rolls back and answers as 'partner_conflict'.
 *
 * XACT_ABORT ON: any error dooms the transaction, so a CATCH can only roll back (never carry on), and a client
 * timeout cannot leave a transaction open on a pooled connection. Parameterized batches run through sp_executesql,
 * so the SET lasts for that batch only. No SET NOCOUNT ON: rowsAffected is how single statements answer.
 */



/** SQL Server error numbers for a duplicate key, as a T-SQL list: unique constraint (2627) and unique index (2601). */
const DUPLICATE_KEY_ERRORS = '2601, 2627';

/** How often startAuthorization's batch runs its transaction: a lost insert race needs one more run, never two. */
const START_TRIES = 3;

/** The user error number completeAuthorization's batch THROWs when the credential row is missing. */
const MISSING_ROW_ERROR = 50001;
/** Raised inside completeAuthorization's batch when the row is authorized for another seller: mapped to 'partner_changed'. */
const PARTNER_CHANGED_ERROR = 50002;
/** Raised there when another customer's authorized row holds the seller (THROW takes only numbers from 50000): 'partner_conflict'. */
const PARTNER_HELD_ERROR = 50003;

/** One typed parameter of a batch: its SQL type and value. */
type BatchInput = readonly [type: (() => sql.ISqlType) | sql.ISqlType, value: unknown];

/** Lengths of the columns that LIMITS does not name (see sql/*.sql). */
const COLUMN = {
  region: 2,
  marketplace: 2,
  hash: 64,
  flow: 32,
  reason: 1000,
} as const;

export async function openSqlServerStore(settings: SqlServerSettings, options: { schema?: string } = {}): Promise<SqlServerStore> {
  const pool = await getPool(settings);
  return new SqlServerStore(pool, { schema: options.schema ?? DEFAULT_SCHEMA });
}

// ---------------------------------------------------------------------------------------------------------------
// Parameter checks. SQL Server rejects an over-long value too, but a clear message beats a truncation error, and
// a VARCHAR parameter would silently turn non-ASCII characters into '?': such values are refused instead.

function nvarchar(column: string, value: string, max: number): string {
  if (value.length > max) throw new Error(`${column} is longer than ${max} characters`);
  return value;
}

function varchar(column: string, value: string, max: number): string {
  nvarchar(column, value, max);
  if (!/^[\x00-\x7f]*$/.test(value)) throw new Error(`${column} must be ASCII`);
  return value;
}

/**
 * SQL Server ignores trailing spaces when it compares strings ('a' = 'a '), whatever the collation, so two such
 * customer ids would share a row: refused here, as is the empty id (the CHECK constraint would refuse it too).
 */
function customerIdParam(value: string): string {
  if (value.length === 0) throw new Error('customer_id is empty');
  if (value.endsWith(' ')) throw new Error('customer_id ends with a space, which SQL Server does not distinguish');
  return nvarchar('customer_id', value, LIMITS.customerId);
}

/** Whether a lookup value could be stored at all; when not, the lookup finds nothing without a round trip. */
function storable(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}

function attemptIdParam(value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new Error('attempt id must be a positive integer');
  return value;
}

const clip = (value: string | undefined, max: number): string | null => (value === undefined ? null : value.slice(0, max));

/**
 * Every sql/ migration this code needs (sql/ is not deployed, so the names live here; a unit test keeps them equal to
 * the files in sql/). /api/health reports a database whose schema_migrations lacks any of them: the files are not
 * applied in number order when a lower-numbered one lands after a higher one was deployed, so the newest row alone
 * proves nothing.
 */
export const REQUIRED_MIGRATIONS: readonly string[] = [
  '001_sp_api_credentials',
  '002_sp_api_auth_attempts',
  '003_access_tokens',
  '004_ops_view',
  '005_truthful_record',
  '006_shared_access_tokens',
  '007_events',
  '008_credential_sweep',
  '009_service_heartbeat',
];

/** The newest of REQUIRED_MIGRATIONS. */
export const REQUIRED_MIGRATION = '009_service_heartbeat';

/**
 * Why a database is behind this code, or undefined when it is not: `applied` is its newest schema_migrations row,
 * `present` how many of REQUIRED_MIGRATIONS it records.
 */
export function migrationBehind(applied: string | null, present: number): string | undefined {
  if (applied === null) return `schema_migrations is empty or missing, this code needs ${REQUIRED_MIGRATION}: run npm run db:migrate`;
  const number = (version: string) => Number(version.slice(0, 3));
  if (number(applied) < number(REQUIRED_MIGRATION)) return `schema_migrations ends at ${applied}, this code needs ${REQUIRED_MIGRATION}: run npm run db:migrate`;
  const missing = REQUIRED_MIGRATIONS.length - present;
  if (missing > 0) return `schema_migrations lacks ${missing} of the ${REQUIRED_MIGRATIONS.length} migrations this code needs (its newest is ${applied}): run npm run db:migrate`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------

export class SqlServerStore implements CredentialStore {
  private readonly credentials: string;
  private readonly attempts: string;
  private readonly statusView: string;
  private readonly heartbeat: string;
  private readonly history: string;
  private readonly accessTokens: string;
  private readonly events: string;
  private readonly checks: string;
  private readonly replaceEnvelopeSql: Readonly<Record<SecretColumn, string>>;

  constructor(
    private readonly pool: sql.ConnectionPool,
    { schema = DEFAULT_SCHEMA }: { schema?: string } = {},
  ) {
    assertSchemaName(schema);
    this.credentials = `[${schema}].[sp_api_credentials]`;
    this.attempts = `[${schema}].[sp_api_auth_attempts]`;
    this.statusView = `[${schema}].[sp_api_credentials_status]`;
    this.heartbeat = `[${schema}].[service_heartbeat]`;
    this.history = `[${schema}].[schema_migrations]`;
    this.accessTokens = `[${schema}].[sp_api_access_tokens]`;
    this.events = `[${schema}].[sp_api_events]`;
    this.checks = `[${schema}].[sp_api_credential_checks]`;
    // One fixed statement per secret column. The envelope columns take the database's default collation (often
    // case-insensitive), and '=' ignores trailing spaces: the compare is made binary and length-exact.
    this.replaceEnvelopeSql = {
      lwa_refresh_token: `UPDATE ${this.credentials} SET lwa_refresh_token = @replacement
        WHERE customer_id = @customerId AND region = @region
          AND lwa_refresh_token = @expected COLLATE Latin1_General_100_BIN2
          AND DATALENGTH(lwa_refresh_token) = DATALENGTH(@expected)`,
      spapi_oauth_code: `UPDATE ${this.credentials} SET spapi_oauth_code = @replacement
        WHERE customer_id = @customerId AND region = @region
          AND spapi_oauth_code = @expected COLLATE Latin1_General_100_BIN2
          AND DATALENGTH(spapi_oauth_code) = DATALENGTH(@expected)`,
      mws_auth_token: `UPDATE ${this.credentials} SET mws_auth_token = @replacement
        WHERE customer_id = @customerId AND region = @region
          AND mws_auth_token = @expected COLLATE Latin1_General_100_BIN2
          AND DATALENGTH(mws_auth_token) = DATALENGTH(@expected)`,
    };
  }

  /**
   * Counts the open attempts of (customer, region) and answers 'too_many_open' (writing nothing) at
   * MAX_OPEN_ATTEMPTS; else INSERTs the attempt and, for the signed flows (not 'reauthorize'), UPDATEs the row's
   * auth_requested_date and updated_at or INSERTs a 'pending' row when missing, in one transaction. When a
   * concurrent start inserts the row between our UPDATE and INSERT, our INSERT waits for it and fails with a
   * duplicate key once it commits: the whole transaction (XACT_ABORT doomed it) is rolled back and run again, and
   * its UPDATE now finds the row. Any other error (a duplicate state hash included) rolls back and is rethrown.
   * The count reads committed rows (READ COMMITTED SNAPSHOT), so starts racing each other may each pass it: the
   * bound is exact for sequential starts and off by at most the number of concurrent ones.
   */
  async startAuthorization(a: NewAttempt): Promise<'started' | 'too_many_open'> {
    const customerId = customerIdParam(a.customerId);
    const stateHash = varchar('state_hash', a.stateHash, COLUMN.hash);
    const bindingHash = varchar('browser_binding_hash', a.browserBindingHash, COLUMN.hash);
    const marketplace = varchar('marketplace', a.marketplace, COLUMN.marketplace);
    const expectedSellingPartnerId =
      a.expectedSellingPartnerId === null ? null : varchar('expected_selling_partner_id', a.expectedSellingPartnerId, LIMITS.sellingPartnerId);
    const result = await this.oneBatch(
      `SET XACT_ABORT ON;
       DECLARE @try INT = 1, @done BIT = 0, @step VARCHAR(16) = '', @outcome VARCHAR(16) = 'started';
       WHILE @done = 0
       BEGIN
         BEGIN TRY
           BEGIN TRANSACTION;
           SET @step = 'count';
           SET @outcome = 'started';
           IF (SELECT COUNT(*) FROM ${this.attempts}
               WHERE customer_id = @customerId AND region = @region AND outcome = 'pending' AND consumed_at IS NULL
                 AND expires_at > @now
                 -- Anonymous Login-URI attempts and signed ones are counted apart.
                 AND CASE WHEN flow = 'reauthorize' THEN 1 ELSE 0 END = CASE WHEN @flow = 'reauthorize' THEN 1 ELSE 0 END) >= @maxOpen
           BEGIN
             SET @outcome = 'too_many_open';
           END
           ELSE
           BEGIN
             SET @step = 'attempt';
             INSERT INTO ${this.attempts}
               (state_hash, browser_binding_hash, flow, expected_selling_partner_id, customer_id, region, marketplace, created_at,
                expires_at, outcome)
             VALUES (@stateHash, @bindingHash, @flow, @expectedSellingPartnerId, @customerId, @region, @marketplace, @now,
                @expiresAt, 'pending');
             -- The anonymous Login URI writes no credential column; the signed flows note the request, never a status.
             IF @flow <> 'reauthorize'
             BEGIN
               SET @step = 'update';
               UPDATE ${this.credentials} SET auth_requested_date = @now, updated_at = @now
               WHERE customer_id = @customerId AND region = @region;
               IF @@ROWCOUNT = 0
               BEGIN
                 SET @step = 'insert';
                 INSERT INTO ${this.credentials} (customer_id, region, marketplace, status, auth_requested_date, updated_at)
                 VALUES (@customerId, @region, @marketplace, 'pending', @now, @now);
               END;
             END;
           END;
           COMMIT TRANSACTION;
           SET @done = 1;
         END TRY
         BEGIN CATCH
           IF XACT_STATE() <> 0 ROLLBACK TRANSACTION;
           IF @step <> 'insert' OR ERROR_NUMBER() NOT IN (${DUPLICATE_KEY_ERRORS}) OR @try >= ${START_TRIES} THROW;
           SET @try = @try + 1;
         END CATCH;
       END;
       SELECT @outcome AS outcome;`,
      {
        stateHash: [sql.VarChar(COLUMN.hash), stateHash],
        bindingHash: [sql.VarChar(COLUMN.hash), bindingHash],
        flow: [sql.VarChar(COLUMN.flow), a.flow],
        expectedSellingPartnerId: [sql.VarChar(LIMITS.sellingPartnerId), expectedSellingPartnerId],
        customerId: [sql.NVarChar(LIMITS.customerId), customerId],
        region: [sql.VarChar(COLUMN.region), a.region],
        marketplace: [sql.VarChar(COLUMN.marketplace), marketplace],
        now: [sql.DateTime2(3), a.createdAt],
        expiresAt: [sql.DateTime2(3), a.expiresAt],
        maxOpen: [sql.Int, MAX_OPEN_ATTEMPTS],
      },
    );
    return outcome(result, ['started', 'too_many_open'] as const);
  }

  /**
   * One transaction: the rows holding the seller (TOP (2): two already mean ambiguous) into a table variable, then,
   * for exactly one, startAuthorization's count and INSERT of a 'reauthorize' attempt (which writes no credential
   * column, so no upsert race to retry). The marketplace: the row's when it is in @marketplaces (a comma-framed list
   * of codes), else the region's default. Any error rolls back and is rethrown (a duplicate state hash included).
   */
  async startLoginUriAttempt(input: LoginUriStart): Promise<LoginUriStartResult> {
    const stateHash = varchar('state_hash', input.stateHash, COLUMN.hash);
    const bindingHash = varchar('browser_binding_hash', input.browserBindingHash, COLUMN.hash);
    if (!storable(() => varchar('selling_partner_id', input.sellingPartnerId, LIMITS.sellingPartnerId))) return { kind: 'unknown_seller' };
    for (const code of [...input.marketplaces, ...Object.values(input.defaultMarketplaces)]) {
      if (!/^[A-Z]{2}$/.test(code)) throw new Error('marketplace codes must be two capital letters');
    }
    const result = await this.oneBatch(
      `SET XACT_ABORT ON;
       DECLARE @found TABLE (customer_id NVARCHAR(64) NOT NULL, region VARCHAR(2) NOT NULL, marketplace VARCHAR(2) NULL);
       DECLARE @outcome VARCHAR(16), @customerId NVARCHAR(64) = NULL, @rowRegion VARCHAR(2) = NULL, @marketplace VARCHAR(2) = NULL;
       BEGIN TRANSACTION;
       INSERT INTO @found (customer_id, region, marketplace)
       SELECT TOP (2) customer_id, region, marketplace FROM ${this.credentials}
       WHERE selling_partner_id = @sellingPartnerId AND (@region IS NULL OR region = @region);
       IF (SELECT COUNT(*) FROM @found) = 0
       BEGIN
         SET @outcome = 'unknown_seller';
       END
       ELSE IF (SELECT COUNT(*) FROM @found) > 1
       BEGIN
         SET @outcome = 'ambiguous';
       END
       ELSE
       BEGIN
         SELECT @customerId = customer_id, @rowRegion = region,
           @marketplace = CASE
             WHEN marketplace IS NOT NULL AND CHARINDEX(',' + marketplace + ',', @marketplaces) > 0 THEN marketplace
             WHEN region = 'NA' THEN @defaultNA
             WHEN region = 'EU' THEN @defaultEU
             ELSE @defaultFE
           END
         FROM @found;
         IF (SELECT COUNT(*) FROM ${this.attempts}
             WHERE customer_id = @customerId AND region = @rowRegion AND outcome = 'pending' AND consumed_at IS NULL
               AND expires_at > @now AND flow = 'reauthorize') >= @maxOpen
         BEGIN
           SET @outcome = 'too_many_open';
         END
         ELSE
         BEGIN
           INSERT INTO ${this.attempts}
             (state_hash, browser_binding_hash, flow, expected_selling_partner_id, customer_id, region, marketplace, created_at,
              expires_at, outcome)
           VALUES (@stateHash, @bindingHash, 'reauthorize', @sellingPartnerId, @customerId, @rowRegion, @marketplace, @now,
              @expiresAt, 'pending');
           SET @outcome = 'started';
         END;
       END;
       COMMIT TRANSACTION;
       SELECT @outcome AS outcome, @customerId AS customer_id, @rowRegion AS region, @marketplace AS marketplace;`,
      {
        sellingPartnerId: [sql.VarChar(LIMITS.sellingPartnerId), input.sellingPartnerId],
        region: [sql.VarChar(COLUMN.region), input.region ?? null],
        marketplaces: [sql.VarChar(200), `,${input.marketplaces.join(',')},`],
        defaultNA: [sql.VarChar(COLUMN.marketplace), input.defaultMarketplaces.NA],
        defaultEU: [sql.VarChar(COLUMN.marketplace), input.defaultMarketplaces.EU],
        defaultFE: [sql.VarChar(COLUMN.marketplace), input.defaultMarketplaces.FE],
        stateHash: [sql.VarChar(COLUMN.hash), stateHash],
        bindingHash: [sql.VarChar(COLUMN.hash), bindingHash],
        now: [sql.DateTime2(3), input.createdAt],
        expiresAt: [sql.DateTime2(3), input.expiresAt],
        maxOpen: [sql.Int, MAX_OPEN_ATTEMPTS],
      },
    );
    const kind = outcome(result, ['started', 'unknown_seller', 'ambiguous', 'too_many_open'] as const);
    if (kind === 'unknown_seller' || kind === 'ambiguous') return { kind };
    const row = result.recordset[0];
    const customerId = text(row?.['customer_id']);
    if (customerId === null) throw new Error(`startLoginUriAttempt answered ${kind} without a customer`);
    const region = toRegion(row?.['region']);
    if (kind === 'too_many_open') return { kind, customerId, region };
    const marketplace = text(row?.['marketplace']);
    if (marketplace === null) throw new Error('startLoginUriAttempt answered started without a marketplace');
    return { kind, customerId, region, marketplace };
  }

  async findAttemptByStateHash(stateHash: string): Promise<AttemptRecord | undefined> {
    if (!storable(() => varchar('state_hash', stateHash, COLUMN.hash))) return undefined;
    const result = await this.oneBatch(`SELECT ${ATTEMPT_COLUMNS} FROM ${this.attempts} WHERE state_hash = @stateHash`, {
      stateHash: [sql.VarChar(COLUMN.hash), stateHash],
    });
    const row = result.recordset[0];
    return row === undefined ? undefined : toAttempt(row);
  }

  async consumeAttempt(input: AttemptConsumption): Promise<boolean> {
    if (!storable(() => varchar('state_hash', input.stateHash, COLUMN.hash))) return false;
    const sellingPartnerId = varchar('selling_partner_id', input.sellingPartnerId, LIMITS.sellingPartnerId);
    const codeHash = varchar('code_hash', input.codeHash, COLUMN.hash);
    const result = await this.oneBatch(
      `UPDATE ${this.attempts} SET
         consumed_at = @now, selling_partner_id = @sellingPartnerId, code_hash = @codeHash, exchange_deadline = @exchangeDeadline
       WHERE state_hash = @stateHash AND consumed_at IS NULL AND expires_at > @now`,
      {
        stateHash: [sql.VarChar(COLUMN.hash), input.stateHash],
        now: [sql.DateTime2(3), input.now],
        exchangeDeadline: [sql.DateTime2(3), input.exchangeDeadline],
        sellingPartnerId: [sql.VarChar(LIMITS.sellingPartnerId), sellingPartnerId],
        codeHash: [sql.VarChar(COLUMN.hash), codeHash],
      },
    );
    return affected(result) === 1;
  }

  /**
   * One transaction: the conditional UPDATE consumes the attempt (one caller wins); then the two guards read the
   * credential rows and, when neither answers, the callback is recorded. Under READ COMMITTED SNAPSHOT a concurrent
   * authorization of this seller for another customer may not be seen by the guard: the partner index then refuses
   * the record with a duplicate key, which dooms the transaction (XACT_ABORT), so the CATCH rolls back and consumes
   * the attempt again on its own (one conditional UPDATE) before answering 'partner_conflict'. Any other error rolls
   * back (nothing consumed) and is rethrown.
   */
  async acceptCallback(input: CallbackAcceptance): Promise<CallbackAcceptanceResult> {
    if (!storable(() => varchar('state_hash', input.stateHash, COLUMN.hash))) return { kind: 'not_consumable' };
    const customerId = customerIdParam(input.customerId);
    const sellingPartnerId = varchar('selling_partner_id', input.sellingPartnerId, LIMITS.sellingPartnerId);
    const codeHash = varchar('code_hash', input.codeHash, COLUMN.hash);
    const mwsAuthToken =
      input.encryptedMwsAuthToken === undefined ? null : varchar('mws_auth_token', input.encryptedMwsAuthToken, LIMITS.encryptedMwsAuthToken);
    const encryptedCode = varchar('spapi_oauth_code', input.encryptedCode, LIMITS.encryptedCode);
    const consume = `UPDATE ${this.attempts} SET
           consumed_at = @now, selling_partner_id = @sellingPartnerId, code_hash = @codeHash, exchange_deadline = @exchangeDeadline
         WHERE state_hash = @stateHash AND consumed_at IS NULL AND outcome = 'pending' AND expires_at > @now;`;
    const result = await this.oneBatch(
      `SET XACT_ABORT ON;
       DECLARE @outcome VARCHAR(16) = 'consumed', @linked VARCHAR(64) = NULL;
       BEGIN TRY
         BEGIN TRANSACTION;
         ${consume}
         IF @@ROWCOUNT <> 1
         BEGIN
           SET @outcome = 'not_consumable';
         END
         ELSE
         BEGIN
           SELECT @linked = selling_partner_id FROM ${this.credentials}
           WHERE customer_id = @customerId AND region = @region AND status = 'authorized' AND selling_partner_id <> @sellingPartnerId;
           IF @linked IS NOT NULL
           BEGIN
             SET @outcome = 'partner_changed';
           END
           ELSE IF EXISTS (
             SELECT 1 FROM ${this.credentials}
             WHERE selling_partner_id = @sellingPartnerId AND region = @region AND customer_id <> @customerId AND status = 'authorized')
           BEGIN
             SET @outcome = 'partner_conflict';
           END
           ELSE
           BEGIN
             ${this.releasePartnerSql()}
             UPDATE ${this.credentials} SET
               selling_partner_id = CASE WHEN status = 'authorized' THEN selling_partner_id ELSE @sellingPartnerId END,
               mws_auth_token = COALESCE(@mwsAuthToken, mws_auth_token),
               spapi_oauth_code = @encryptedCode,
               updated_at = @now
             WHERE customer_id = @customerId AND region = @region;
           END;
         END;
         COMMIT TRANSACTION;
       END TRY
       BEGIN CATCH
         IF XACT_STATE() <> 0 ROLLBACK TRANSACTION;
         IF ERROR_NUMBER() NOT IN (${DUPLICATE_KEY_ERRORS}) THROW;
         SET @linked = NULL;
         ${consume}
         SET @outcome = CASE WHEN @@ROWCOUNT = 1 THEN 'partner_conflict' ELSE 'not_consumable' END;
       END CATCH;
       SELECT @outcome AS outcome, @linked AS linked_selling_partner_id;`,
      {
        stateHash: [sql.VarChar(COLUMN.hash), input.stateHash],
        now: [sql.DateTime2(3), input.now],
        exchangeDeadline: [sql.DateTime2(3), input.exchangeDeadline],
        sellingPartnerId: [sql.VarChar(LIMITS.sellingPartnerId), sellingPartnerId],
        codeHash: [sql.VarChar(COLUMN.hash), codeHash],
        mwsAuthToken: [sql.VarChar(LIMITS.encryptedMwsAuthToken), mwsAuthToken],
        encryptedCode: [sql.VarChar(LIMITS.encryptedCode), encryptedCode],
        customerId: [sql.NVarChar(LIMITS.customerId), customerId],
        region: [sql.VarChar(COLUMN.region), input.region],
      },
    );
    const kind = outcome(result, ['consumed', 'not_consumable', 'partner_changed', 'partner_conflict'] as const);
    if (kind !== 'partner_changed') return { kind };
    const linked = text(result.recordset[0]?.['linked_selling_partner_id']);
    if (linked === null) throw new Error('acceptCallback answered partner_changed without the linked seller');
    return { kind, linked };
  }

  async recordCallback(input: CallbackRecord): Promise<'recorded' | 'partner_conflict'> {
    const customerId = customerIdParam(input.customerId);
    const sellingPartnerId = varchar('selling_partner_id', input.sellingPartnerId, LIMITS.sellingPartnerId);
    const mwsAuthToken =
      input.encryptedMwsAuthToken === undefined ? null : varchar('mws_auth_token', input.encryptedMwsAuthToken, LIMITS.encryptedMwsAuthToken);
    const encryptedCode = varchar('spapi_oauth_code', input.encryptedCode, LIMITS.encryptedCode);
    const result = await this.oneBatch(
      partnerGuarded(
        'recorded',
        `${this.releasePartnerSql()}
         UPDATE ${this.credentials} SET
           selling_partner_id = CASE WHEN status = 'authorized' THEN selling_partner_id ELSE @sellingPartnerId END,
           mws_auth_token = COALESCE(@mwsAuthToken, mws_auth_token),
           spapi_oauth_code = @encryptedCode,
           updated_at = @now
         WHERE customer_id = @customerId AND region = @region;`,
      ),
      {
        sellingPartnerId: [sql.VarChar(LIMITS.sellingPartnerId), sellingPartnerId],
        mwsAuthToken: [sql.VarChar(LIMITS.encryptedMwsAuthToken), mwsAuthToken],
        encryptedCode: [sql.VarChar(LIMITS.encryptedCode), encryptedCode],
        now: [sql.DateTime2(3), input.now],
        customerId: [sql.NVarChar(LIMITS.customerId), customerId],
        region: [sql.VarChar(COLUMN.region), input.region],
      },
    );
    return outcome(result, ['recorded', 'partner_conflict'] as const);
  }

  /** Throws (after rolling back: nothing released, the attempt still pending) when the credential row is missing. */
  async completeAuthorization(input: CompletedAuthorization): Promise<'stored' | 'partner_conflict' | 'partner_changed'> {
    const attemptId = attemptIdParam(input.attemptId);
    const customerId = customerIdParam(input.customerId);
    const marketplace = varchar('marketplace', input.marketplace, COLUMN.marketplace);
    const sellingPartnerId = varchar('selling_partner_id', input.sellingPartnerId, LIMITS.sellingPartnerId);
    const refreshToken = varchar('lwa_refresh_token', input.encryptedRefreshToken, LIMITS.encryptedRefreshToken);
    const result = await this.oneBatch(
      partnerGuarded(
        'stored',
        `DECLARE @before TABLE (status VARCHAR(16) NOT NULL);
         ${this.releasePartnerSql()}
         ${readBeforeUpdateSql(this.credentials, ['status'], '@before', 'customer_id = @customerId AND region = @region')}
         UPDATE ${this.credentials} SET
           selling_partner_id = @sellingPartnerId, marketplace = @marketplace, lwa_refresh_token = @refreshToken,
           status = ${statusCaseSql('succeeded')}, last_error = NULL,
           auth_granted_date = @now, lwa_refresh_token_date = @now, updated_at = @now
         WHERE customer_id = @customerId AND region = @region
           AND NOT (status = 'authorized' AND selling_partner_id IS NOT NULL AND selling_partner_id <> @sellingPartnerId);
         IF @@ROWCOUNT <> 1
         BEGIN
           -- Authorized meanwhile for another seller (another attempt finished first): switching is explicit.
           IF EXISTS (SELECT 1 FROM ${this.credentials} WHERE customer_id = @customerId AND region = @region)
           BEGIN
             -- Another customer's claim on this seller is reported first, as the unique index would.
             IF EXISTS (
               SELECT 1 FROM ${this.credentials}
               WHERE selling_partner_id = @sellingPartnerId AND region = @region AND customer_id <> @customerId AND status = 'authorized'
             ) THROW ${PARTNER_HELD_ERROR}, N'selling partner held by another authorized customer', 1;
             THROW ${PARTNER_CHANGED_ERROR}, N'credential row is authorized for another seller', 1;
           END;
           THROW ${MISSING_ROW_ERROR}, N'credential row missing for a consumed attempt', 1;
         END;
         UPDATE ${this.attempts} SET outcome = 'succeeded', reason = NULL, completed_at = @now WHERE attempt_id = @attemptId;
         INSERT INTO ${this.events} (event_type, customer_id, region, selling_partner_id, occurred_at, data)
         SELECT CASE WHEN status = 'authorized' THEN 'authorization.reauthorized' ELSE 'authorization.granted' END,
           @customerId, @region, @sellingPartnerId, @now, @eventData
         FROM @before;`,
      ),
      {
        eventData: [sql.NVarChar(EVENT_DATA_LIMIT), eventDataJson(grantedData(marketplace, input.now))],
        sellingPartnerId: [sql.VarChar(LIMITS.sellingPartnerId), sellingPartnerId],
        marketplace: [sql.VarChar(COLUMN.marketplace), marketplace],
        refreshToken: [sql.VarChar(LIMITS.encryptedRefreshToken), refreshToken],
        now: [sql.DateTime2(3), input.now],
        customerId: [sql.NVarChar(LIMITS.customerId), customerId],
        region: [sql.VarChar(COLUMN.region), input.region],
        attemptId: [sql.BigInt, attemptId],
      },
    );
    return outcome(result, ['stored', 'partner_conflict', 'partner_changed'] as const);
  }

  async failAuthorization(input: FailedAuthorization): Promise<void> {
    const attemptId = attemptIdParam(input.attemptId);
    const customerId = customerIdParam(input.customerId);
    await this.oneBatch(
      `SET XACT_ABORT ON;
       BEGIN TRANSACTION;
       UPDATE ${this.attempts} SET
         outcome = 'failed', reason = @reason, lwa_error = @lwaError, lwa_error_description = @lwaErrorDescription,
         completed_at = @now
       WHERE attempt_id = @attemptId;
       UPDATE ${this.credentials} SET
         status = ${statusCaseSql('failed')}, last_error = @lastError, updated_at = @now
       WHERE customer_id = @customerId AND region = @region;
       -- An authorized row keeps its token through a failed authorization: only a row that reads failed tells oxWebApp.
       INSERT INTO ${this.events} (event_type, customer_id, region, selling_partner_id, occurred_at, data)
       SELECT 'authorization.failed', customer_id, region, selling_partner_id, @now, @eventData
       FROM ${this.credentials} WHERE customer_id = @customerId AND region = @region AND status = 'failed';
       COMMIT TRANSACTION;`,
      {
        eventData: [sql.NVarChar(EVENT_DATA_LIMIT), eventDataJson(failureData(input.failure))],
        ...failureInputs(input.failure),
        lastError: [sql.NVarChar(LIMITS.lastError), formatLastError(input.failure)],
        now: [sql.DateTime2(3), input.now],
        attemptId: [sql.BigInt, attemptId],
        customerId: [sql.NVarChar(LIMITS.customerId), customerId],
        region: [sql.VarChar(COLUMN.region), input.region],
      },
    );
  }

  /**
   * One conditional UPDATE of the related attempt's refusal_count decides (it takes the row's lock, so two refusals
   * never both pass the bound); the refusal row is INSERTed only when it counted one, in the same transaction.
   */
  async recordRefusedCallback(input: RefusedCallback): Promise<boolean> {
    const r = input.related;
    const relatedAttemptId = attemptIdParam(r.attemptId);
    const sellingPartnerId =
      input.sellingPartnerId === undefined ? null : varchar('selling_partner_id', input.sellingPartnerId, LIMITS.sellingPartnerId);
    const result = await this.oneBatch(
      `SET XACT_ABORT ON;
       DECLARE @recorded INT = 0;
       BEGIN TRANSACTION;
       UPDATE ${this.attempts} SET refusal_count = refusal_count + 1
       WHERE attempt_id = @relatedAttemptId AND refusal_count < @maxRefusals;
       IF @@ROWCOUNT = 1
       BEGIN
         INSERT INTO ${this.attempts}
           (flow, customer_id, region, marketplace, selling_partner_id, created_at, completed_at, outcome, reason, related_attempt_id)
         VALUES ('callback', @customerId, @region, @marketplace, @sellingPartnerId, @now, @now, 'refused', @reason, @relatedAttemptId);
         SET @recorded = 1;
       END;
       COMMIT TRANSACTION;
       SELECT @recorded AS recorded;`,
      {
        customerId: [sql.NVarChar(LIMITS.customerId), r.customerId],
        region: [sql.VarChar(COLUMN.region), r.region],
        marketplace: [sql.VarChar(COLUMN.marketplace), r.marketplace],
        sellingPartnerId: [sql.VarChar(LIMITS.sellingPartnerId), sellingPartnerId],
        now: [sql.DateTime2(3), input.now],
        reason: [sql.NVarChar(COLUMN.reason), clip(input.reason, COLUMN.reason)],
        relatedAttemptId: [sql.BigInt, relatedAttemptId],
        maxRefusals: [sql.Int, MAX_REFUSALS_PER_ATTEMPT],
      },
    );
    const recorded = wholeCount(result.recordset[0]?.['recorded'], 'recorded');
    if (recorded > 1) throw new Error('recordRefusedCallback counted more than one attempt');
    return recorded === 1;
  }

  /**
   * The row as it was is read into a table variable (readBeforeUpdateSql), then the UPDATE clears the link; the audit
   * row is written and the answer read from the table variable, in one transaction: no row, no audit, 'not_found'.
   */
  async unlinkCredential(input: Unlink): Promise<UnlinkResult> {
    if (!storable(() => customerIdParam(input.customerId))) return { kind: 'not_found' };
    const result = await this.oneBatch(
      `SET XACT_ABORT ON;
       DECLARE @before TABLE (status VARCHAR(16) NOT NULL, selling_partner_id VARCHAR(64) NULL, marketplace VARCHAR(2) NULL);
       BEGIN TRANSACTION;
       ${readBeforeUpdateSql(this.credentials, ['status', 'selling_partner_id', 'marketplace'], '@before', 'customer_id = @customerId AND region = @region')}
       UPDATE ${this.credentials} SET
         selling_partner_id = NULL, lwa_refresh_token = NULL, spapi_oauth_code = NULL, mws_auth_token = NULL,
         status = ${statusCaseSql('unlinked')}, last_error = NULL, updated_at = @now
       WHERE customer_id = @customerId AND region = @region;
       DELETE FROM ${this.accessTokens} WHERE customer_id = @customerId AND region = @region;
       INSERT INTO ${this.attempts}
         (flow, customer_id, region, marketplace, selling_partner_id, created_at, completed_at, outcome, reason)
       SELECT 'ops', @customerId, @region, marketplace, selling_partner_id, @now, @now, 'succeeded', 'unlinked' FROM @before;
       INSERT INTO ${this.events} (event_type, customer_id, region, selling_partner_id, occurred_at, data)
       SELECT 'authorization.unlinked', @customerId, @region, selling_partner_id, @now, @eventData FROM @before WHERE status <> 'unlinked';
       COMMIT TRANSACTION;
       SELECT status AS previous_status, selling_partner_id AS previous_selling_partner_id FROM @before;`,
      {
        eventData: [sql.NVarChar(EVENT_DATA_LIMIT), eventDataJson(UNLINKED_DATA)],
        now: [sql.DateTime2(3), input.now],
        customerId: [sql.NVarChar(LIMITS.customerId), input.customerId],
        region: [sql.VarChar(COLUMN.region), input.region],
      },
    );
    const rows = result.recordset;
    const [row] = rows;
    if (row === undefined) return { kind: 'not_found' };
    if (rows.length > 1) throw new Error('unlinkCredential matched more than one credential row');
    const previousStatus = CREDENTIAL_STATUSES.find((status) => status === row['previous_status']);
    if (previousStatus === undefined) throw new Error('previous status holds a value this code does not know');
    return { kind: 'unlinked', previousSellingPartnerId: text(row['previous_selling_partner_id']), previousStatus };
  }

  /**
   * One statement: the victims (SqliteStore's rule, oldest first, TOP (@limit)) as a CTE, deleted or counted.
   */
  async purgeAttempts(input: AttemptPurge): Promise<number> {
    const inputs: Record<string, BatchInput> = {
      olderThan: [sql.DateTime2(3), input.olderThan],
      now: [sql.DateTime2(3), input.now],
      limit: [sql.Int, purgeLimit(input.limit)],
    };
    const victims = `WITH victims AS (
         SELECT TOP (@limit) a.attempt_id FROM ${this.attempts} AS a
         WHERE a.created_at < @olderThan
           AND (a.outcome <> 'pending'
                OR (a.exchange_deadline IS NULL AND a.expires_at <= @now)
                OR a.exchange_deadline <= @now)
           -- COALESCE: where no started attempt exists (a NULL subquery), nothing is protected, rather than everything.
           AND a.attempt_id <> COALESCE((
             SELECT TOP (1) l.attempt_id FROM ${this.attempts} AS l
             WHERE l.customer_id = a.customer_id AND l.region = a.region AND ${lastAttemptConditionSql('l')}
             ORDER BY l.created_at DESC, l.attempt_id DESC), -1)
         ORDER BY a.created_at, a.attempt_id
       )`;
    if (input.dryRun) {
      const result = await this.oneBatch(`${victims} SELECT COUNT(*) AS victims FROM victims;`, inputs);
      return wholeCount(result.recordset[0]?.['victims'], 'victims');
    }
    const result = await this.oneBatch(
      `${victims} DELETE FROM ${this.attempts} WHERE attempt_id IN (SELECT attempt_id FROM victims);`,
      inputs,
    );
    return affected(result);
  }

  /**
   * A deadlock victim (1205), a lock request timeout (1222), Azure SQL's transient numbers (database busy, moving or
   * being brought online, resource limits, login to a database not yet available), and a lost connection or a request
   * timeout (mssql/tedious codes). Looks through mssql's wrappers (originalError, info, precedingErrors, cause).
   */
  isTransientError(error: unknown): boolean {
    const { numbers, codes } = errorDetails(error);
    return numbers.some((n) => TRANSIENT_ERROR_NUMBERS.has(n)) || codes.some((c) => TRANSIENT_ERROR_CODES.has(c));
  }

  /**
   * One conditional UPDATE decides (compare-and-swap on the exact envelope); the audit row copies marketplace and
   * partner from the row that UPDATE just changed (the key, inside the same transaction), and only when it did.
   */
  async markRevoked(input: Revocation): Promise<boolean> {
    // A row that could not have been stored cannot be authorized with that envelope: nothing to mark.
    if (!storable(() => customerIdParam(input.customerId))) return false;
    if (!storable(() => varchar('lwa_refresh_token', input.expectedRefreshToken, LIMITS.encryptedRefreshToken))) return false;
    const result = await this.oneBatch(
      `SET XACT_ABORT ON;
       DECLARE @revoked INT;
       BEGIN TRANSACTION;
       UPDATE ${this.credentials} SET status = ${statusCaseSql('revoked')}, last_error = @lastError, updated_at = @now
       WHERE customer_id = @customerId AND region = @region AND status = 'authorized'
         AND lwa_refresh_token = @expected COLLATE Latin1_General_100_BIN2
         AND DATALENGTH(lwa_refresh_token) = DATALENGTH(@expected);
       SET @revoked = @@ROWCOUNT;
       IF @revoked = 1
       BEGIN
         DELETE FROM ${this.accessTokens} WHERE customer_id = @customerId AND region = @region;
         INSERT INTO ${this.attempts}
           (flow, customer_id, region, marketplace, selling_partner_id, created_at, completed_at, outcome, reason,
            lwa_error, lwa_error_description)
         SELECT 'refresh', customer_id, region, marketplace, selling_partner_id, @now, @now, 'failed', @reason,
            @lwaError, @lwaErrorDescription
         FROM ${this.credentials} WHERE customer_id = @customerId AND region = @region;
         INSERT INTO ${this.events} (event_type, customer_id, region, selling_partner_id, occurred_at, data)
         SELECT 'authorization.revoked', customer_id, region, selling_partner_id, @now, @eventData
         FROM ${this.credentials} WHERE customer_id = @customerId AND region = @region;
       END;
       COMMIT TRANSACTION;
       SELECT @revoked AS revoked;`,
      {
        eventData: [sql.NVarChar(EVENT_DATA_LIMIT), eventDataJson(failureData(input.failure))],
        ...failureInputs(input.failure),
        lastError: [sql.NVarChar(LIMITS.lastError), formatLastError(input.failure)],
        now: [sql.DateTime2(3), input.now],
        customerId: [sql.NVarChar(LIMITS.customerId), input.customerId],
        region: [sql.VarChar(COLUMN.region), input.region],
        expected: [sql.VarChar(LIMITS.encryptedRefreshToken), input.expectedRefreshToken],
      },
    );
    const revoked = wholeCount(result.recordset[0]?.['revoked'], 'revoked');
    if (revoked > 1) throw new Error('markRevoked matched more than one credential row');
    return revoked === 1;
  }

  async listSecretEnvelopes(): Promise<SecretEnvelopes[]> {
    const result = await this.oneBatch(
      `SELECT customer_id, region, lwa_refresh_token, spapi_oauth_code, mws_auth_token FROM ${this.credentials}
       WHERE lwa_refresh_token IS NOT NULL OR spapi_oauth_code IS NOT NULL OR mws_auth_token IS NOT NULL
       ORDER BY customer_id, region`,
    );
    return result.recordset.map((row) => ({
      customerId: String(row['customer_id']),
      region: row['region'] as Region,
      lwaRefreshToken: text(row['lwa_refresh_token']),
      spapiOauthCode: text(row['spapi_oauth_code']),
      mwsAuthToken: text(row['mws_auth_token']),
    }));
  }

  /** Leaves updated_at alone: re-encrypting an envelope does not change the authorization. */
  async replaceEnvelope(input: EnvelopeReplacement): Promise<boolean> {
    const column = secretColumn(input.column);
    const max = ENVELOPE_LIMITS[column];
    const replacement = varchar(column, input.replacement, max);
    if (!storable(() => customerIdParam(input.customerId))) return false;
    if (!storable(() => varchar(column, input.expected, max))) return false;
    const result = await this.oneBatch(this.replaceEnvelopeSql[column], {
      replacement: [sql.VarChar(max), replacement],
      customerId: [sql.NVarChar(LIMITS.customerId), input.customerId],
      region: [sql.VarChar(COLUMN.region), input.region],
      expected: [sql.VarChar(max), input.expected],
    });
    return affected(result) === 1;
  }

  async listCredentials(): Promise<CredentialSummary[]> {
    const result = await this.oneBatch(`SELECT ${SUMMARY_COLUMNS} FROM ${this.credentials} ORDER BY updated_at DESC, customer_id, region`);
    return result.recordset.map(toSummary);
  }

  async listCredentialsFor(filter: { customerId: string } | { sellingPartnerId: string }): Promise<CredentialSummary[]> {
    const { by, value } = credentialFilter(filter);
    if (by === 'customer') {
      if (!storable(() => customerIdParam(value))) return [];
      const result = await this.oneBatch(
        `SELECT ${SUMMARY_COLUMNS} FROM ${this.credentials} WHERE customer_id = @customerId ORDER BY customer_id, region`,
        { customerId: [sql.NVarChar(LIMITS.customerId), value] },
      );
      return result.recordset.map(toSummary);
    }
    if (!storable(() => varchar('selling_partner_id', value, LIMITS.sellingPartnerId))) return [];
    const result = await this.oneBatch(
      `SELECT ${SUMMARY_COLUMNS} FROM ${this.credentials} WHERE selling_partner_id = @sellingPartnerId ORDER BY customer_id, region`,
      { sellingPartnerId: [sql.VarChar(LIMITS.sellingPartnerId), value] },
    );
    return result.recordset.map(toSummary);
  }

  async findCredential(customerId: string, region: Region): Promise<(CredentialSummary & CredentialSecrets) | undefined> {
    if (!storable(() => customerIdParam(customerId))) return undefined;
    const result = await this.oneBatch(
      `SELECT ${SUMMARY_COLUMNS}, lwa_refresh_token, spapi_oauth_code, mws_auth_token
       FROM ${this.credentials} WHERE customer_id = @customerId AND region = @region`,
      { customerId: [sql.NVarChar(LIMITS.customerId), customerId], region: [sql.VarChar(COLUMN.region), region] },
    );
    const row = result.recordset[0];
    return row === undefined ? undefined : toCredential(row);
  }

  async listAttempts(filter: { customerId?: string } = {}): Promise<AttemptRecord[]> {
    const { customerId } = filter;
    if (customerId === undefined) {
      const result = await this.oneBatch(`SELECT ${ATTEMPT_COLUMNS} FROM ${this.attempts} ORDER BY attempt_id`);
      return result.recordset.map(toAttempt);
    }
    if (!storable(() => customerIdParam(customerId))) return [];
    const result = await this.oneBatch(`SELECT ${ATTEMPT_COLUMNS} FROM ${this.attempts} WHERE customer_id = @customerId ORDER BY attempt_id`, {
      customerId: [sql.NVarChar(LIMITS.customerId), customerId],
    });
    return result.recordset.map(toAttempt);
  }

  /**
   * Reads the view sql/005_truthful_record.sql creates (its rules: columns, reauthorize_by, last attempt) and
   * recomputes status, days_left and last_attempt_outcome for the caller's `now` (@now) instead of SYSUTCDATETIME():
   * the same expressions as the view (and as SqliteStore.listCredentialStatus).
   */
  async listCredentialStatus(filter: StatusFilter, now: Date): Promise<CredentialStatusRow[]> {
    const withinMs = expiringWithinMs(filter.expiringWithinDays);
    const { customerId } = filter;
    if (customerId !== undefined && !storable(() => customerIdParam(customerId))) return [];
    const inputs: Record<string, BatchInput> = { now: [sql.DateTime2(3), now] };
    const conditions: string[] = [];
    if (customerId !== undefined) {
      conditions.push('s.customer_id = @customerId');
      inputs['customerId'] = [sql.NVarChar(LIMITS.customerId), customerId];
    }
    if (withinMs !== undefined) {
      conditions.push('s.ms_left < @withinMs');
      inputs['withinMs'] = [sql.BigInt, withinMs];
    }
    const result = await this.oneBatch(
      `SELECT
         r.customer_id, r.region, r.marketplace, r.selling_partner_id, r.status, r.auth_requested_date, r.auth_granted_date,
         r.reauthorize_by, r.days_left, r.last_error, r.last_attempt_at, r.last_attempt_outcome, r.last_attempt_reason
       FROM (
         SELECT
           s.customer_id, s.region, s.marketplace, s.selling_partner_id,
           CAST(CASE WHEN s.ms_left IS NULL THEN s.view_status WHEN s.ms_left < 0 THEN 'expired' ELSE 'authorized' END AS VARCHAR(16)) AS status,
           s.auth_requested_date, s.auth_granted_date, s.reauthorize_by,
           CAST(CASE
             WHEN s.ms_left IS NULL THEN NULL
             WHEN s.ms_left >= 0 THEN s.ms_left / 86400000
             ELSE -((86399999 - s.ms_left) / 86400000)
           END AS INT) AS days_left,
           s.last_error, s.last_attempt_at,
           CAST(CASE
             WHEN s.view_outcome IS NULL THEN NULL
             WHEN s.view_outcome NOT IN ('pending', 'abandoned', 'interrupted') THEN s.view_outcome
             WHEN s.last_attempt_exchange_deadline IS NULL AND s.last_attempt_expires_at <= @now THEN 'abandoned'
             WHEN s.last_attempt_exchange_deadline <= @now THEN 'interrupted'
             ELSE 'pending'
           END AS VARCHAR(16)) AS last_attempt_outcome,
           s.last_attempt_reason
         FROM (
           SELECT
             v.customer_id, v.region, v.marketplace, v.selling_partner_id, v.status AS view_status,
             v.auth_requested_date, v.auth_granted_date, v.reauthorize_by, v.last_error,
             v.last_attempt_at, v.last_attempt_outcome AS view_outcome, v.last_attempt_reason,
             v.last_attempt_expires_at, v.last_attempt_exchange_deadline,
             DATEDIFF_BIG(millisecond, @now, v.reauthorize_by) AS ms_left
           FROM ${this.statusView} AS v
         ) AS s
         ${conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`}
       ) AS r
       ORDER BY CASE WHEN r.days_left IS NULL THEN 1 ELSE 0 END, r.days_left, r.customer_id, r.region`,
      inputs,
    );
    return result.recordset.map(toStatusRow);
  }

  async listRecentAttempts(filter: { customerId?: string | undefined; since: Date; limit?: number | undefined }): Promise<AttemptRecord[]> {
    const limit = recentAttemptsLimit(filter.limit);
    const { customerId } = filter;
    if (customerId !== undefined && !storable(() => customerIdParam(customerId))) return [];
    const inputs: Record<string, BatchInput> = { since: [sql.DateTime2(3), filter.since], limit: [sql.Int, limit] };
    if (customerId !== undefined) inputs['customerId'] = [sql.NVarChar(LIMITS.customerId), customerId];
    const result = await this.oneBatch(
      `SELECT TOP (@limit) ${ATTEMPT_COLUMNS} FROM ${this.attempts}
       WHERE created_at >= @since${customerId === undefined ? '' : ' AND customer_id = @customerId'}
       ORDER BY created_at DESC, attempt_id DESC`,
      inputs,
    );
    return result.recordset.map(toAttempt);
  }

  async readAccessTokenSource(customerId: string, region: Region): Promise<AccessTokenSource | undefined> {
    if (!storable(() => customerIdParam(customerId))) return undefined;
    const result = await this.oneBatch(
      `SELECT ${JOINED_CREDENTIAL_COLUMNS}, ${SHARED_TOKEN_COLUMNS}
       FROM ${this.credentials} AS c
       LEFT JOIN ${this.accessTokens} AS t ON t.customer_id = c.customer_id AND t.region = c.region
       WHERE c.customer_id = @customerId AND c.region = @region`,
      { customerId: [sql.NVarChar(LIMITS.customerId), customerId], region: [sql.VarChar(COLUMN.region), region] },
    );
    const row = result.recordset[0];
    return row === undefined ? undefined : toAccessTokenSource(row);
  }

  /**
   * The conditional UPDATE; only when no row exists yet, the INSERT (beside an existing credential row). Two first
   * claims racing: the second INSERT fails with a duplicate key, which the CATCH answers as lost (0).
   */
  async claimAccessTokenLease(input: AccessTokenLeaseClaim): Promise<boolean> {
    if (!storable(() => customerIdParam(input.customerId))) return false;
    const result = await this.oneBatch(
      `SET XACT_ABORT ON;
       DECLARE @claimed INT;
       BEGIN TRY
         UPDATE ${this.accessTokens} SET lease_owner = @owner, lease_until = @until, updated_at = @now
         WHERE customer_id = @customerId AND region = @region
           AND (lease_owner IS NULL OR lease_until <= @now OR lease_owner = @owner);
         SET @claimed = @@ROWCOUNT;
         IF @claimed = 0 AND NOT EXISTS (SELECT 1 FROM ${this.accessTokens} WHERE customer_id = @customerId AND region = @region)
         BEGIN
           INSERT INTO ${this.accessTokens} (customer_id, region, lease_owner, lease_until, updated_at)
           SELECT customer_id, region, @owner, @until, @now FROM ${this.credentials} WHERE customer_id = @customerId AND region = @region;
           SET @claimed = @@ROWCOUNT;
         END;
         SELECT @claimed AS claimed;
       END TRY
       BEGIN CATCH
         IF XACT_STATE() <> 0 ROLLBACK TRANSACTION;
         IF ERROR_NUMBER() IN (${DUPLICATE_KEY_ERRORS}) SELECT 0 AS claimed;
         ELSE THROW;
       END CATCH;`,
      {
        owner: [sql.VarChar(LIMITS.leaseOwner), varchar('lease_owner', input.owner, LIMITS.leaseOwner)],
        until: [sql.DateTime2(3), input.until],
        now: [sql.DateTime2(3), input.now],
        customerId: [sql.NVarChar(LIMITS.customerId), input.customerId],
        region: [sql.VarChar(COLUMN.region), input.region],
      },
    );
    return wholeCount(result.recordset[0]?.['claimed'], 'claimed') === 1;
  }

  /** One statement: the heads of the queues that are due, leased by the same UPDATE and handed back by OUTPUT. */
  async claimDueEvents(claim: EventClaim): Promise<EventRecord[]> {
    const result = await this.oneBatch(
      `UPDATE ${this.events} SET next_attempt_at = @leaseUntil
       OUTPUT ${EVENT_COLUMNS.split(',').map((c) => `inserted.${c.trim()}`).join(', ')}
       WHERE event_id IN (
         SELECT TOP (@limit) e.event_id FROM ${this.events} AS e
         WHERE e.delivery_state = 'pending' AND (e.next_attempt_at IS NULL OR e.next_attempt_at <= @now)
           AND NOT EXISTS (
             SELECT 1 FROM ${this.events} AS p
             WHERE p.customer_id = e.customer_id AND p.region = e.region AND p.delivery_state = 'pending' AND p.event_id < e.event_id)
         ORDER BY e.event_id)
         -- Read again on the rows updated (under their update locks, the latest committed values): the subquery reads a
         -- row version (READ COMMITTED SNAPSHOT), so without this a deliverer racing another could lease a leased event.
         AND delivery_state = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= @now);`,
      {
        now: [sql.DateTime2(3), claim.now],
        leaseUntil: [sql.DateTime2(3), claim.leaseUntil],
        limit: [sql.Int, eventBatchLimit(claim.limit)],
      },
    );
    return result.recordset.map(toEvent).sort((a, b) => a.eventId - b.eventId);
  }

  async recordDelivery(result: DeliveryResult): Promise<void> {
    const [state, next, deliveredAt, error] =
      result.outcome === 'delivered'
        ? ['delivered', null, result.now, null]
        : result.outcome === 'retry'
          ? ['pending', result.nextAttemptAt, null, clip(result.error, DELIVERY_ERROR_LIMIT)]
          : ['failed', null, null, clip(result.error, DELIVERY_ERROR_LIMIT)];
    await this.oneBatch(
      `UPDATE ${this.events} SET delivery_state = @state, next_attempt_at = @next, delivered_at = @deliveredAt,
         last_delivery_error = @error, delivery_attempts = delivery_attempts + 1
       WHERE event_id = @eventId AND delivery_state = 'pending';`,
      {
        state: [sql.VarChar(16), state],
        next: [sql.DateTime2(3), next],
        deliveredAt: [sql.DateTime2(3), deliveredAt],
        error: [sql.NVarChar(DELIVERY_ERROR_LIMIT), error],
        eventId: [sql.BigInt, result.eventId],
      },
    );
  }

  async purgeEvents(purge: EventPurge): Promise<number> {
    const inputs: Record<string, BatchInput> = {
      olderThan: [sql.DateTime2(3), purge.olderThan],
      limit: [sql.Int, eventBatchLimit(purge.limit)],
    };
    const victims = `WITH victims AS (
         SELECT TOP (@limit) event_id FROM ${this.events}
         WHERE delivery_state = 'delivered' AND occurred_at < @olderThan ORDER BY event_id
       )`;
    if (purge.dryRun) {
      const result = await this.oneBatch(`${victims} SELECT COUNT(*) AS victims FROM victims;`, inputs);
      return wholeCount(result.recordset[0]?.['victims'], 'victims');
    }
    return affected(await this.oneBatch(`${victims} DELETE FROM ${this.events} WHERE event_id IN (SELECT event_id FROM victims);`, inputs));
  }

  async listEvents(filter: EventFilter = {}): Promise<EventRecord[]> {
    const result = await this.oneBatch(
      `SELECT TOP (@limit) ${EVENT_COLUMNS} FROM ${this.events}
       WHERE (@customerId IS NULL OR customer_id = @customerId) AND event_id > @after
       ORDER BY event_id;`,
      {
        limit: [sql.Int, eventListLimit(filter)],
        customerId: [sql.NVarChar(LIMITS.customerId), filter.customerId ?? null],
        after: [sql.BigInt, filter.afterEventId ?? 0],
      },
    );
    return result.recordset.map(toEvent);
  }

  /**
   * As completeAuthorization's batch, without an attempt to consume: the row is UPDATEd unless it is authorized for
   * another seller (then 50002 → 'partner_changed'), INSERTed when missing; the attempt and the event are INSERTed.
   */
  async importRefreshToken(input: ImportedRefreshToken): Promise<'stored' | 'partner_changed' | 'partner_conflict'> {
    const customerId = customerIdParam(input.customerId);
    const marketplace = varchar('marketplace', input.marketplace, COLUMN.marketplace);
    const sellingPartnerId = varchar('selling_partner_id', input.sellingPartnerId, LIMITS.sellingPartnerId);
    const refreshToken = varchar('lwa_refresh_token', input.encryptedRefreshToken, LIMITS.encryptedRefreshToken);
    const result = await this.oneBatch(
      partnerGuarded(
        'stored',
        `DECLARE @before TABLE (status VARCHAR(16) NOT NULL);
         IF EXISTS (
           SELECT 1 FROM ${this.credentials}
           WHERE selling_partner_id = @sellingPartnerId AND region = @region AND customer_id <> @customerId AND status = 'authorized'
         ) THROW ${PARTNER_HELD_ERROR}, N'selling partner held by another authorized customer', 1;
         IF EXISTS (
           SELECT 1 FROM ${this.credentials}
           WHERE customer_id = @customerId AND region = @region AND status = 'authorized'
             AND selling_partner_id IS NOT NULL AND selling_partner_id <> @sellingPartnerId
         ) THROW ${PARTNER_CHANGED_ERROR}, N'credential row is authorized for another seller', 1;
         ${this.releasePartnerSql()}
         ${readBeforeUpdateSql(this.credentials, ['status'], '@before', 'customer_id = @customerId AND region = @region')}
         UPDATE ${this.credentials} SET
           selling_partner_id = @sellingPartnerId, marketplace = @marketplace, lwa_refresh_token = @refreshToken,
           status = ${statusCaseSql('succeeded')}, last_error = NULL,
           auth_granted_date = @now, lwa_refresh_token_date = @now, updated_at = @now
         WHERE customer_id = @customerId AND region = @region;
         IF @@ROWCOUNT = 0
           INSERT INTO ${this.credentials}
             (customer_id, region, marketplace, selling_partner_id, lwa_refresh_token, status, auth_requested_date,
              auth_granted_date, lwa_refresh_token_date, updated_at)
           VALUES (@customerId, @region, @marketplace, @sellingPartnerId, @refreshToken, 'authorized', @now, @now, @now, @now);
         INSERT INTO ${this.attempts}
           (flow, customer_id, region, marketplace, selling_partner_id, created_at, consumed_at, completed_at, outcome)
         VALUES ('self_authorization', @customerId, @region, @marketplace, @sellingPartnerId, @now, @now, @now, 'succeeded');
         INSERT INTO ${this.events} (event_type, customer_id, region, selling_partner_id, occurred_at, data)
         SELECT CASE WHEN EXISTS (SELECT 1 FROM @before WHERE status = 'authorized') THEN 'authorization.reauthorized' ELSE 'authorization.granted' END,
           @customerId, @region, @sellingPartnerId, @now, @eventData;`,
      ),
      {
        sellingPartnerId: [sql.VarChar(LIMITS.sellingPartnerId), sellingPartnerId],
        marketplace: [sql.VarChar(COLUMN.marketplace), marketplace],
        refreshToken: [sql.VarChar(LIMITS.encryptedRefreshToken), refreshToken],
        now: [sql.DateTime2(3), input.now],
        customerId: [sql.NVarChar(LIMITS.customerId), customerId],
        region: [sql.VarChar(COLUMN.region), input.region],
        eventData: [sql.NVarChar(EVENT_DATA_LIMIT), eventDataJson({ ...grantedData(marketplace, input.now), flow: 'self_authorization' })],
      },
    );
    return outcome(result, ['stored', 'partner_changed', 'partner_conflict'] as const);
  }

  /**
   * The conditional UPDATE takes a free lease of a row not checked this run; a missing row is INSERTed leased. Two
   * inserts racing: the loser's duplicate key is caught and answers false (the other sweep has it).
   */
  async claimCredentialCheck(claim: CheckClaim): Promise<boolean> {
    const result = await this.oneBatch(
      `SET XACT_ABORT ON;
       DECLARE @claimed INT = 0;
       BEGIN TRY
         BEGIN TRANSACTION;
         UPDATE ${this.checks} SET lease_until = @leaseUntil
         WHERE customer_id = @customerId AND region = @region
           AND (lease_until IS NULL OR lease_until <= @now)
           AND (checked_at IS NULL OR checked_at < @runStartedAt);
         SET @claimed = @@ROWCOUNT;
         IF @claimed = 0 AND NOT EXISTS (SELECT 1 FROM ${this.checks} WHERE customer_id = @customerId AND region = @region)
         BEGIN
           INSERT INTO ${this.checks} (customer_id, region, lease_until) VALUES (@customerId, @region, @leaseUntil);
           SET @claimed = 1;
         END;
         COMMIT TRANSACTION;
       END TRY
       BEGIN CATCH
         IF XACT_STATE() <> 0 ROLLBACK TRANSACTION;
         IF ERROR_NUMBER() NOT IN (${DUPLICATE_KEY_ERRORS}) THROW;
         SET @claimed = 0;
       END CATCH;
       SELECT @claimed AS claimed;`,
      {
        customerId: [sql.NVarChar(LIMITS.customerId), customerIdParam(claim.customerId)],
        region: [sql.VarChar(COLUMN.region), claim.region],
        now: [sql.DateTime2(3), claim.now],
        leaseUntil: [sql.DateTime2(3), claim.leaseUntil],
        runStartedAt: [sql.DateTime2(3), claim.runStartedAt],
      },
    );
    return wholeCount(result.recordset[0]?.['claimed'], 'claimed') === 1;
  }

  async storeSharedAccessToken(input: SharedAccessTokenWrite): Promise<boolean> {
    if (!storable(() => customerIdParam(input.customerId))) return false;
    const result = await this.oneBatch(
      `UPDATE ${this.accessTokens}
       SET credential_generation = @generation, access_token = @accessToken, expires_at = @expiresAt, refreshed_at = @now,
           lease_owner = NULL, lease_until = NULL, updated_at = @now
       WHERE customer_id = @customerId AND region = @region AND lease_owner = @owner
         AND EXISTS (
           SELECT 1 FROM ${this.credentials} AS c
           WHERE c.customer_id = @customerId AND c.region = @region AND c.status = 'authorized'
             AND c.selling_partner_id = @sellingPartnerId
             AND c.lwa_refresh_token = @expected COLLATE Latin1_General_100_BIN2
             AND DATALENGTH(c.lwa_refresh_token) = DATALENGTH(@expected))`,
      {
        generation: [sql.VarChar(LIMITS.credentialGeneration), varchar('credential_generation', input.generation, LIMITS.credentialGeneration)],
        accessToken: [sql.VarChar(LIMITS.encryptedAccessToken), varchar('access_token', input.accessToken, LIMITS.encryptedAccessToken)],
        expiresAt: [sql.DateTime2(3), input.expiresAt],
        now: [sql.DateTime2(3), input.now],
        customerId: [sql.NVarChar(LIMITS.customerId), input.customerId],
        region: [sql.VarChar(COLUMN.region), input.region],
        owner: [sql.VarChar(LIMITS.leaseOwner), varchar('lease_owner', input.owner, LIMITS.leaseOwner)],
        sellingPartnerId: [sql.VarChar(LIMITS.sellingPartnerId), varchar('selling_partner_id', input.sellingPartnerId, LIMITS.sellingPartnerId)],
        expected: [sql.VarChar(LIMITS.encryptedRefreshToken), varchar('lwa_refresh_token', input.expectedRefreshToken, LIMITS.encryptedRefreshToken)],
      },
    );
    return affected(result) === 1;
  }

  async releaseAccessTokenLease(input: { customerId: string; region: Region; owner: string }): Promise<void> {
    if (!storable(() => customerIdParam(input.customerId))) return;
    await this.oneBatch(
      `UPDATE ${this.accessTokens} SET lease_owner = NULL, lease_until = NULL
       WHERE customer_id = @customerId AND region = @region AND lease_owner = @owner`,
      {
        customerId: [sql.NVarChar(LIMITS.customerId), input.customerId],
        region: [sql.VarChar(COLUMN.region), input.region],
        owner: [sql.VarChar(LIMITS.leaseOwner), varchar('lease_owner', input.owner, LIMITS.leaseOwner)],
      },
    );
  }

  /** The flag is read before the UPDATE replaces it (readBeforeUpdateSql); the event is inserted only when the flag is new. */
  async recordCredentialCheck(result: CheckResult): Promise<void> {
    const flag = flagAfter(result.outcome);
    const p = result.participation;
    const event = flag === undefined || flag === null ? undefined : result.flagEvent;
    await this.oneBatch(
      `SET XACT_ABORT ON;
       DECLARE @before TABLE (flag VARCHAR(32) NULL);
       BEGIN TRANSACTION;
       ${readBeforeUpdateSql(this.checks, ['flag'], '@before', 'customer_id = @customerId AND region = @region')}
       UPDATE ${this.checks} SET
         lease_until = NULL, checked_at = @now, check_outcome = @outcome, check_error = @error,
         verified_at = CASE WHEN @seen = 1 THEN @now ELSE verified_at END,
         marketplace_ids = CASE WHEN @seen = 1 THEN @marketplaceIds ELSE marketplace_ids END,
         country_codes = CASE WHEN @seen = 1 THEN @countryCodes ELSE country_codes END,
         store_name = CASE WHEN @seen = 1 THEN @storeName ELSE store_name END,
         flag = CASE WHEN @setsFlag = 1 THEN @flag ELSE flag END
       WHERE customer_id = @customerId AND region = @region;
       IF @eventType IS NOT NULL
         INSERT INTO ${this.events} (event_type, customer_id, region, selling_partner_id, occurred_at, data)
         SELECT @eventType, @customerId, @region, @sellingPartnerId, @now, @eventData
         FROM @before WHERE flag IS NULL OR flag <> @flag;
       COMMIT TRANSACTION;`,
      {
        now: [sql.DateTime2(3), result.now],
        outcome: [sql.VarChar(24), result.outcome],
        error: [sql.NVarChar(CHECK_LIMITS.checkError), result.error === null ? null : clip(result.error, CHECK_LIMITS.checkError)],
        seen: [sql.Int, p === undefined ? 0 : 1],
        marketplaceIds: [sql.VarChar(CHECK_LIMITS.marketplaceIds), p === undefined ? null : checkListText(p.marketplaceIds, CHECK_LIMITS.marketplaceIds)],
        countryCodes: [sql.VarChar(CHECK_LIMITS.countryCodes), p === undefined ? null : checkListText(p.countryCodes, CHECK_LIMITS.countryCodes)],
        storeName: [sql.NVarChar(CHECK_LIMITS.storeName), p?.storeName === undefined || p.storeName === null ? null : clip(p.storeName, CHECK_LIMITS.storeName)],
        setsFlag: [sql.Int, flag === undefined ? 0 : 1],
        flag: [sql.VarChar(32), flag ?? null],
        customerId: [sql.NVarChar(LIMITS.customerId), customerIdParam(result.customerId)],
        region: [sql.VarChar(COLUMN.region), result.region],
        ...eventInputs(event),
      },
    );
  }

  /**
   * The mark is one conditional UPDATE (or the INSERT of a missing check row), guarded by the credential row still
   * being authorized with that grant; the event is inserted only when the mark was written.
   */
  async recordDeadlineReminder(reminder: DeadlineReminder): Promise<boolean> {
    const result = await this.oneBatch(
      `SET XACT_ABORT ON;
       DECLARE @sent INT = 0;
       BEGIN TRY
         BEGIN TRANSACTION;
         IF EXISTS (
           SELECT 1 FROM ${this.credentials}
           WHERE customer_id = @customerId AND region = @region AND status = 'authorized' AND auth_granted_date = @grantedAt)
         BEGIN
           UPDATE ${this.checks} SET reminded_threshold = @threshold, reminded_for_grant = @grantedAt
           WHERE customer_id = @customerId AND region = @region
             AND (reminded_for_grant IS NULL OR reminded_for_grant <> @grantedAt OR reminded_threshold > @threshold);
           SET @sent = @@ROWCOUNT;
           IF @sent = 0 AND NOT EXISTS (SELECT 1 FROM ${this.checks} WHERE customer_id = @customerId AND region = @region)
           BEGIN
             INSERT INTO ${this.checks} (customer_id, region, reminded_threshold, reminded_for_grant)
             VALUES (@customerId, @region, @threshold, @grantedAt);
             SET @sent = 1;
           END;
           IF @sent = 1
             INSERT INTO ${this.events} (event_type, customer_id, region, selling_partner_id, occurred_at, data)
             VALUES (@eventType, @customerId, @region, @sellingPartnerId, @now, @eventData);
         END;
         COMMIT TRANSACTION;
       END TRY
       BEGIN CATCH
         IF XACT_STATE() <> 0 ROLLBACK TRANSACTION;
         IF ERROR_NUMBER() NOT IN (${DUPLICATE_KEY_ERRORS}) THROW;
         SET @sent = 0;
       END CATCH;
       SELECT @sent AS sent;`,
      {
        customerId: [sql.NVarChar(LIMITS.customerId), customerIdParam(reminder.customerId)],
        region: [sql.VarChar(COLUMN.region), reminder.region],
        grantedAt: [sql.DateTime2(3), reminder.grantedAt],
        threshold: [sql.Int, reminder.threshold],
        now: [sql.DateTime2(3), reminder.event.occurredAt],
        ...eventInputs(reminder.event),
      },
    );
    return wholeCount(result.recordset[0]?.['sent'], 'sent') === 1;
  }

  async listCredentialChecks(filter: { customerId?: string | undefined } = {}): Promise<CredentialCheckRecord[]> {
    const result = await this.oneBatch(
      `SELECT customer_id, region, lease_until, checked_at, check_outcome, check_error, verified_at, marketplace_ids,
         country_codes, store_name, flag, reminded_threshold, reminded_for_grant
       FROM ${this.checks} WHERE (@customerId IS NULL OR customer_id = @customerId) ORDER BY customer_id, region;`,
      { customerId: [sql.NVarChar(LIMITS.customerId), filter.customerId ?? null] },
    );
    return result.recordset.map(toCheck);
  }

  async ping(): Promise<void> {
    await this.oneBatch('SELECT 1 AS ok');
  }

  /**
   * One batch, no transaction (one UPDATE, or one INSERT when the seeded row was deleted): the write is tried in
   * TRY/CATCH so a refused write is answered with the schema and the sample rather than failing the batch; a
   * duplicate key (another instance inserted the row first) is no refusal. The statements naming service_heartbeat
   * and schema_migrations run only when OBJECT_ID finds them (deferred name resolution compiles the rest). The answer
   * is one result set: the write error and newest migration on every row, left-joined to the sampled envelopes.
   */
  async checkHealth(probe: HealthProbe): Promise<StoreHealth> {
    const size = healthSampleSize(probe.sampleSize);
    const sample = `SELECT TOP (@sample) customer_id, region, lwa_refresh_token FROM ${this.credentials} WHERE lwa_refresh_token IS NOT NULL`;
    const result = await this.oneBatch(
      `DECLARE @writeError NVARCHAR(2048) = NULL;
       DECLARE @schemaVersion VARCHAR(100) = NULL, @schemaPresent INT = 0;
       IF OBJECT_ID(N'${this.heartbeat}', N'U') IS NULL
       BEGIN
         SET @writeError = N'service_heartbeat does not exist';
       END
       ELSE
       BEGIN
         BEGIN TRY
           UPDATE ${this.heartbeat} SET beat_at = @now WHERE id = 1;
           IF @@ROWCOUNT = 0 INSERT INTO ${this.heartbeat} (id, beat_at) VALUES (1, @now);
         END TRY
         BEGIN CATCH
           IF ERROR_NUMBER() NOT IN (${DUPLICATE_KEY_ERRORS}) SET @writeError = ERROR_MESSAGE();
         END CATCH;
       END;
       IF OBJECT_ID(N'${this.history}', N'U') IS NOT NULL
         SELECT @schemaVersion = MAX(version),
           @schemaPresent = COALESCE(SUM(CASE WHEN CHARINDEX(',' + version + ',', @required) > 0 THEN 1 ELSE 0 END), 0)
         FROM ${this.history};
       SELECT @writeError AS write_error, @schemaVersion AS schema_version, @schemaPresent AS schema_present, s.customer_id, s.region, s.lwa_refresh_token
       FROM (SELECT 1 AS one) AS probe
       LEFT JOIN (
         SELECT customer_id, region, lwa_refresh_token FROM (${sample} ORDER BY lwa_refresh_token_date DESC, customer_id) AS newest
         UNION
         SELECT customer_id, region, lwa_refresh_token FROM (${sample} ORDER BY lwa_refresh_token_date ASC, customer_id) AS oldest
       ) AS s ON 1 = 1;`,
      { now: [sql.DateTime2(3), probe.now], sample: [sql.Int, size], required: [sql.VarChar(4000), `,${REQUIRED_MIGRATIONS.join(',')},`] },
    );
    const first = result.recordset[0];
    const writeError = text(first?.['write_error']);
    return {
      writeRefused: writeError ?? undefined,
      schemaBehind: migrationBehind(text(first?.['schema_version']), wholeCount(first?.['schema_present'] ?? 0, 'schema_present')),
      samples: result.recordset.map(toEnvelopeSample).filter((s) => s !== undefined),
    };
  }

  /** Closes the pool, which other stores opened with the same settings share, and forgets it. */
  async close(): Promise<void> {
    await closePool(this.pool);
  }

  /**
   * The one round trip every method makes: `text` (one batch; a transaction, if any, written inside it) with typed
   * inputs, on a connection from the pool. Never a client-side transaction (each of its steps is a round trip).
   */
  private async oneBatch(text: string, inputs: Readonly<Record<string, BatchInput>> = {}): Promise<sql.IResult<Row>> {
    const request = this.pool.request();
    for (const [name, [type, value]] of Object.entries(inputs)) request.input(name, type, value);
    return request.query<Row>(text);
  }

  /**
   * A statement (inside a batch) by which another customer's row that is not authorized gives up the partner id (the
   * unique index allows one holder). Uses @sellingPartnerId, @region, @customerId, @now.
   */
  private releasePartnerSql(): string {
    return `UPDATE ${this.credentials} SET selling_partner_id = NULL, updated_at = @now
         WHERE selling_partner_id = @sellingPartnerId AND region = @region AND customer_id <> @customerId AND status <> 'authorized';`;
  }
}

// ---------------------------------------------------------------------------------------------------------------

const SUMMARY_COLUMNS = `customer_id, region, marketplace, selling_partner_id, status, last_error,
  auth_requested_date, auth_granted_date, lwa_refresh_token_date, updated_at,
  CAST(CASE WHEN lwa_refresh_token IS NULL THEN 0 ELSE 1 END AS BIT) AS has_refresh_token`;

/** SUMMARY_COLUMNS and the secret columns, on the credentials table aliased `c` (for the access-token join). */
const JOINED_CREDENTIAL_COLUMNS = `c.customer_id, c.region, c.marketplace, c.selling_partner_id, c.status, c.last_error,
  c.auth_requested_date, c.auth_granted_date, c.lwa_refresh_token_date, c.updated_at,
  CAST(CASE WHEN c.lwa_refresh_token IS NULL THEN 0 ELSE 1 END AS BIT) AS has_refresh_token,
  c.lwa_refresh_token, c.spapi_oauth_code, c.mws_auth_token`;

const EVENT_COLUMNS = `event_id, event_type, customer_id, region, selling_partner_id, occurred_at, data, delivery_state,
  delivery_attempts, next_attempt_at, delivered_at, last_delivery_error`;

const ATTEMPT_COLUMNS = `attempt_id, state_hash, browser_binding_hash, flow, customer_id, region, marketplace,
  selling_partner_id, expected_selling_partner_id, code_hash, created_at, expires_at, consumed_at, exchange_deadline, completed_at,
  outcome, reason, lwa_error, lwa_error_description, related_attempt_id, refusal_count`;

/** Refuses, at run time too, anything but the secret columns. */
function secretColumn(column: string): SecretColumn {
  if (column === 'lwa_refresh_token' || column === 'spapi_oauth_code' || column === 'mws_auth_token') return column;
  throw new Error('replaceEnvelope: column must be lwa_refresh_token, spapi_oauth_code or mws_auth_token');
}

/** The length of each envelope column (sql/005_truthful_record.sql). */
const ENVELOPE_LIMITS: Readonly<Record<SecretColumn, number>> = {
  lwa_refresh_token: LIMITS.encryptedRefreshToken,
  spapi_oauth_code: LIMITS.encryptedCode,
  mws_auth_token: LIMITS.encryptedMwsAuthToken,
};


function purgeLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 100_000) throw new Error('purge limit must be a whole number from 1 to 100000');
  return limit;
}

/**
 * SQL Server error numbers worth one more try: 1205 deadlock victim, 1222 lock request timeout; Azure SQL's
 * transient errors: 40613 database not currently available, 40197 service error processing the request (failover),
 * 40501 service busy, 49918/49919/49920 not enough resources / too many operations, 4060 cannot open the database,
 * 4221 login timed out waiting for the secondary replica.
 */
const TRANSIENT_ERROR_NUMBERS: ReadonlySet<number> = new Set([1205, 1222, 40613, 40197, 40501, 49918, 49919, 49920, 4060, 4221]);

/**
 * mssql/tedious codes of a connection lost or never made in time: ConnectionError ESOCKET (with the socket's
 * ECONNRESET underneath), ECONNRESET, ECONNCLOSED (the pool's connection was closed), ETIMEOUT (a connect or a
 * request that timed out; XACT_ABORT ON rolls the batch's transaction back when tedious cancels it).
 */
const TRANSIENT_ERROR_CODES: ReadonlySet<string> = new Set(['ESOCKET', 'ECONNRESET', 'ECONNCLOSED', 'ETIMEOUT']);

/**
 * The `number`s and `code`s of an error and of the errors mssql wraps in it (originalError, info, precedingErrors,
 * cause), depth-bounded so a cycle cannot loop.
 */
function errorDetails(error: unknown, depth = 0): { numbers: number[]; codes: string[] } {
  const found = { numbers: [] as number[], codes: [] as string[] };
  if (typeof error !== 'object' || error === null || depth > 5) return found;
  if ('number' in error && typeof error.number === 'number') found.numbers.push(error.number);
  if ('code' in error && typeof error.code === 'string') found.codes.push(error.code);
  const nested: unknown[] = [];
  if ('originalError' in error) nested.push(error.originalError);
  if ('info' in error) nested.push(error.info);
  if ('cause' in error) nested.push(error.cause);
  if ('precedingErrors' in error && Array.isArray(error.precedingErrors)) nested.push(...(error.precedingErrors as unknown[]));
  for (const inner of nested) {
    const more = errorDetails(inner, depth + 1);
    found.numbers.push(...more.numbers);
    found.codes.push(...more.codes);
  }
  return found;
}

/** Exactly one of customerId / sellingPartnerId, as a string (other keys, e.g. a region, are ignored). */
function credentialFilter(filter: { customerId: string } | { sellingPartnerId: string }): { by: 'customer' | 'seller'; value: string } {
  const customerId: unknown = 'customerId' in filter ? filter.customerId : undefined;
  const sellingPartnerId: unknown = 'sellingPartnerId' in filter ? filter.sellingPartnerId : undefined;
  if (typeof customerId === 'string' && sellingPartnerId === undefined) return { by: 'customer', value: customerId };
  if (typeof sellingPartnerId === 'string' && customerId === undefined) return { by: 'seller', value: sellingPartnerId };
  throw new Error('listCredentialsFor: give either customerId or sellingPartnerId, as a string');
}

function affected(result: { rowsAffected: number[] }): number {
  return result.rowsAffected[0] ?? 0;
}

/** A batch's answer in its one SELECT: the `outcome` column of the first row, one of `allowed`. */
function outcome<T extends string>(result: sql.IResult<Row>, allowed: readonly T[]): T {
  const value: unknown = result.recordset?.[0]?.['outcome'];
  const found = allowed.find((candidate) => candidate === value);
  if (found === undefined) throw new Error(`the batch answered an unexpected outcome: ${String(value)}`);
  return found;
}

/** A count the batch SELECTs (an INT; mssql hands back a number). */
function wholeCount(value: unknown, column: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Error(`the batch answered no ${column} count`);
  return value;
}

/** An attempt's failure details as the inputs @reason, @lwaError, @lwaErrorDescription, clipped to their columns. */
function failureInputs(failure: FailureDetails): Record<string, BatchInput> {
  return {
    reason: [sql.NVarChar(COLUMN.reason), clip(failure.reason, COLUMN.reason)],
    lwaError: [sql.NVarChar(LIMITS.lwaError), clip(failure.lwaError, LIMITS.lwaError)],
    lwaErrorDescription: [sql.NVarChar(LIMITS.lwaErrorDescription), clip(failure.lwaErrorDescription, LIMITS.lwaErrorDescription)],
  };
}

/**
 * `statements` as one transaction that answers `SELECT '<success>' AS outcome`, or, when the partner index refuses a
 * write (duplicate key), rolls everything back and answers 'partner_conflict'. Any other error (e.g. THROW of
 * MISSING_ROW_ERROR) rolls back and is rethrown to the caller.
 */
function partnerGuarded(success: string, statements: string): string {
  return `SET XACT_ABORT ON;
       BEGIN TRY
         BEGIN TRANSACTION;
         ${statements}
         COMMIT TRANSACTION;
         SELECT '${success}' AS outcome;
       END TRY
       BEGIN CATCH
         IF XACT_STATE() <> 0 ROLLBACK TRANSACTION;
         IF ERROR_NUMBER() = ${PARTNER_CHANGED_ERROR} SELECT 'partner_changed' AS outcome;
         ELSE IF ERROR_NUMBER() IN (${DUPLICATE_KEY_ERRORS}, ${PARTNER_HELD_ERROR}) SELECT 'partner_conflict' AS outcome;
         ELSE THROW;
       END CATCH;`;
}

/**
 * A statement that copies `columns` of the rows matching `where` into the table variable `into` as they are now, and
 * keeps those rows locked until the transaction ends (it writes them unchanged), so the UPDATE that follows in the
 * same transaction changes exactly the values read. It stands in for `UPDATE ... OUTPUT deleted.*`, which Babelfish
 * for PostgreSQL 4.3 cannot run on a table outside the login's default schema ("relation ... does not exist") and
 * misreads beside unqualified column names ("column reference ... is ambiguous"); OUTPUT inserted works on both.
 * A write, not a lock hint: SQL Server (also under READ COMMITTED SNAPSHOT) and PostgreSQL lock a row they update.
 */
function readBeforeUpdateSql(table: string, columns: readonly [string, ...string[]], into: string, where: string): string {
  const [first] = columns;
  return `UPDATE ${table} SET ${first} = ${first}
         OUTPUT ${columns.map((c) => `inserted.${c}`).join(', ')} INTO ${into} (${columns.join(', ')})
         WHERE ${where};`;
}

/** @eventType, @sellingPartnerId and @eventData of an event (all NULL when there is none). */
function eventInputs(event: NewEvent | undefined): Record<string, BatchInput> {
  return {
    eventType: [sql.VarChar(40), event?.type ?? null],
    sellingPartnerId: [sql.VarChar(LIMITS.sellingPartnerId), event?.sellingPartnerId ?? null],
    eventData: [sql.NVarChar(EVENT_DATA_LIMIT), event === undefined ? null : eventDataJson(event.data)],
  };
}
