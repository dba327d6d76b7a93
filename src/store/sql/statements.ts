import type { Dialect } from './dialect.js';
import { attemptEndedSql, lastAttemptConditionSql, statusCaseSql } from './statusCase.js';
import { COLUMNS as C, type ParamTypes } from './types.js';

/**
 * The statements both engines spell alike, each written once against a Dialect. A statement is one request on SQL
 * Server (a parameterized query) and one prepared statement on SQLite; the operations in ../operations/ reuse them
 * inside their transactions.
 */
export interface Statement<P extends ParamTypes = ParamTypes> {
  readonly params: P;
  readonly sql: (d: Dialect) => string;
}

export const statement = <P extends ParamTypes>(params: P, sql: (d: Dialect) => string): Statement<P> => ({ params, sql });

const rendered = new WeakMap<Dialect, WeakMap<Statement, string>>();

/** A statement's text for an engine, rendered once. */
export function render(statement: Statement, d: Dialect): string {
  let texts = rendered.get(d);
  if (texts === undefined) rendered.set(d, (texts = new WeakMap()));
  let text = texts.get(statement);
  if (text === undefined) texts.set(statement, (text = statement.sql(d)));
  return text;
}

/** A credential's key. Rows written also take `region`, derived from the scope by the store. */
const key = { customerId: C.customer_id, scope: C.scope } as const;
/** An attempt's failure as @reason, @lwaError, @lwaErrorDescription (free text is clipped to its columns by the store). */
export const FAILURE = { reason: C.reason, lwaError: C.lwa_error, lwaErrorDescription: C.lwa_error_description } as const;

/** The summary columns: no secret column is read, so none can leak into a summary. */
export const summaryColumns = (d: Dialect, a = ''): string =>
  `${a}customer_id, ${a}scope, ${a}region, ${a}marketplace, ${a}selling_partner_id, ${a}status, ${a}last_error, ${a}auth_requested_date,
   ${a}auth_granted_date, ${a}lwa_refresh_token_date, ${a}revoked_at, ${a}updated_at, ${d.isSet(`${a}lwa_refresh_token`)} AS has_refresh_token`;
const SECRETS = 'lwa_refresh_token, spapi_oauth_code, mws_auth_token';
export const ATTEMPT_COLUMNS = `attempt_id, state_hash, browser_binding_hash, flow, customer_id, scope, region, marketplace, selling_partner_id,
  expected_selling_partner_id, code_hash, created_at, expires_at, consumed_at, exchange_deadline, completed_at, outcome, reason,
  lwa_error, lwa_error_description, related_attempt_id, refusal_count`;
export const EVENT_COLUMNS = [
  'event_id', 'event_type', 'customer_id', 'scope', 'region', 'selling_partner_id', 'occurred_at', 'data', 'delivery_state',
  'delivery_attempts', 'next_attempt_at', 'delivered_at', 'last_delivery_error',
] as const;

// ---- credentials -------------------------------------------------------------------------------------------------

export const listCredentials = statement({}, (d) => `SELECT ${summaryColumns(d)} FROM ${d.t('credentials')} ORDER BY updated_at DESC, customer_id, scope`);

export const listCredentialsOfCustomer = statement(
  { customerId: C.customer_id },
  (d) => `SELECT ${summaryColumns(d)} FROM ${d.t('credentials')} WHERE customer_id = @customerId ORDER BY customer_id, scope`,
);

export const listCredentialsOfSeller = statement(
  { sellingPartnerId: C.selling_partner_id },
  (d) => `SELECT ${summaryColumns(d)} FROM ${d.t('credentials')} WHERE selling_partner_id = @sellingPartnerId ORDER BY customer_id, scope`,
);

export const findCredential = statement(
  key,
  (d) => `SELECT ${summaryColumns(d)}, ${SECRETS} FROM ${d.t('credentials')} WHERE customer_id = @customerId AND scope = @scope`,
);

export const listSecretEnvelopes = statement(
  {},
  (d) => `SELECT customer_id, scope, region, refresh_token_fingerprint, ${SECRETS} FROM ${d.t('credentials')}
    WHERE lwa_refresh_token IS NOT NULL OR spapi_oauth_code IS NOT NULL OR mws_auth_token IS NOT NULL ORDER BY customer_id, scope`,
);

/** Compare-and-swap of one envelope, one fixed statement per secret column (the name never comes from the caller). */
const replaceEnvelope = (column: 'lwa_refresh_token' | 'spapi_oauth_code' | 'mws_auth_token') =>
  statement(
    { ...key, expected: C[column], replacement: C[column] },
    (d) => `UPDATE ${d.t('credentials')} SET ${column} = @replacement
      WHERE customer_id = @customerId AND scope = @scope AND ${d.same(column, '@expected')}`,
  );
export const REPLACE_ENVELOPE = {
  lwa_refresh_token: replaceEnvelope('lwa_refresh_token'),
  spapi_oauth_code: replaceEnvelope('spapi_oauth_code'),
  mws_auth_token: replaceEnvelope('mws_auth_token'),
} as const;

/** A row holds its seller firmly when authorized, or while a callback's exchange for that seller is in flight. */
// The claim is tested IS NOT NULL first: a NULL claim must make this false, not unknown, or NOT holds() is unknown too.
const holds = (a = ''): string => `(${a}status = 'authorized' OR (${a}partner_claimed_until IS NOT NULL AND ${a}partner_claimed_until > @now))`;

/**
 * Another customer's row that holds the seller loosely (not authorized, no exchange in flight) gives it up: the unique
 * index allows one holder per scope.
 */
export const releasePartner = statement(
  { ...key, sellingPartnerId: C.selling_partner_id, now: C.datetime },
  (d) => `UPDATE ${d.t('credentials')} SET selling_partner_id = NULL, partner_claimed_until = NULL, updated_at = @now
    WHERE selling_partner_id = @sellingPartnerId AND scope = @scope AND customer_id <> @customerId AND NOT ${holds()}`,
);

/**
 * The seed's step 1 on the row: the code envelope, the MWS token when sent, and the partner unless the row is
 * authorized (a working token is never paired with another seller's id), claimed until @claimUntil (the exchange's
 * deadline; NULL claims nothing).
 */
export const recordCallbackOnRow = statement(
  {
    ...key,
    sellingPartnerId: C.selling_partner_id,
    encryptedMwsAuthToken: C.mws_auth_token,
    encryptedCode: C.spapi_oauth_code,
    claimUntil: C.datetime,
    now: C.datetime,
  },
  (d) => `UPDATE ${d.t('credentials')} SET
      selling_partner_id = CASE WHEN status = 'authorized' THEN selling_partner_id ELSE @sellingPartnerId END,
      partner_claimed_until = @claimUntil,
      mws_auth_token = COALESCE(@encryptedMwsAuthToken, mws_auth_token),
      spapi_oauth_code = @encryptedCode,
      updated_at = @now
    WHERE customer_id = @customerId AND scope = @scope`,
);

/**
 * A new grant on the row (an authorization's refresh token, or an imported one): status by STATUS_CHANGES.succeeded,
 * never over a row authorized for another seller (switching sellers is explicit: ops unlink).
 */
export const storeGrant = statement(
  {
    ...key,
    sellingPartnerId: C.selling_partner_id,
    marketplace: C.marketplace,
    encryptedRefreshToken: C.lwa_refresh_token,
    refreshTokenFingerprint: C.refresh_token_fingerprint,
    now: C.datetime,
  },
  (d) => `UPDATE ${d.t('credentials')} SET
      selling_partner_id = @sellingPartnerId, marketplace = @marketplace, lwa_refresh_token = @encryptedRefreshToken,
      refresh_token_fingerprint = @refreshTokenFingerprint, status = ${statusCaseSql('succeeded')}, last_error = NULL,
      auth_granted_date = @now, lwa_refresh_token_date = @now, partner_claimed_until = NULL, revoked_at = NULL, updated_at = @now
    WHERE customer_id = @customerId AND scope = @scope
      AND NOT (status = 'authorized' AND selling_partner_id IS NOT NULL AND selling_partner_id <> @sellingPartnerId)`,
);

/** Whether another customer's row in the scope holds the seller firmly (authorized, or claimed by an exchange in flight). */
export const partnerHeldElsewhere = statement(
  { ...key, sellingPartnerId: C.selling_partner_id, now: C.datetime },
  (d) => `SELECT 1 AS held FROM ${d.t('credentials')}
    WHERE selling_partner_id = @sellingPartnerId AND scope = @scope AND customer_id <> @customerId AND ${holds()}`,
);

/** The seller the row of (customer, scope) holds firmly when it is another one than @sellingPartnerId. */
export const partnerHeldHere = statement(
  { ...key, sellingPartnerId: C.selling_partner_id, now: C.datetime },
  (d) => `SELECT selling_partner_id FROM ${d.t('credentials')}
    WHERE customer_id = @customerId AND scope = @scope AND ${holds()} AND selling_partner_id <> @sellingPartnerId`,
);

/** The credential row and its shared access-token row, in one read (t_* columns; absent when t_region is NULL). */
export const readAccessTokenSource = statement(
  key,
  (d) => `SELECT ${summaryColumns(d, 'c.')}, c.lwa_refresh_token, c.spapi_oauth_code, c.mws_auth_token,
      t.region AS t_region, t.credential_generation AS t_generation, t.access_token AS t_access_token, t.expires_at AS t_expires_at,
      t.refreshed_at AS t_refreshed_at, t.lease_owner AS t_lease_owner, t.lease_until AS t_lease_until
    FROM ${d.t('credentials')} AS c
    LEFT JOIN ${d.t('accessTokens')} AS t ON t.customer_id = c.customer_id AND t.scope = c.scope
    WHERE c.customer_id = @customerId AND c.scope = @scope`,
);

/**
 * The facts the ops view is read from (credentials/deadlines.ts statusRowAt): each row and its newest STARTED
 * attempt (lastAttemptConditionSql), by customer and scope. Deadlines, days left and outcomes are computed in
 * TypeScript, never here.
 */
export const listStatusFacts = statement(
  { customerId: C.customer_id },
  (d) => `SELECT c.customer_id, c.scope, c.region, c.marketplace, c.selling_partner_id, c.status, c.auth_requested_date,
      c.auth_granted_date, c.revoked_at, ${d.isSet('c.lwa_refresh_token')} AS has_refresh_token, c.last_error, a.created_at AS last_attempt_at, a.outcome AS last_attempt_outcome, a.reason AS last_attempt_reason,
      a.expires_at AS last_attempt_expires_at, a.consumed_at AS last_attempt_consumed_at, a.exchange_deadline AS last_attempt_exchange_deadline
    FROM ${d.t('credentials')} AS c
    LEFT JOIN ${d.t('attempts')} AS a ON a.attempt_id = (
      SELECT ${d.top('1')} l.attempt_id FROM ${d.t('attempts')} AS l
      WHERE l.customer_id = c.customer_id AND l.scope = c.scope AND ${lastAttemptConditionSql('l')}
      ORDER BY l.created_at DESC, l.attempt_id DESC ${d.limit('1')})
    WHERE @customerId IS NULL OR c.customer_id = @customerId
    ORDER BY c.customer_id, c.scope`,
);

// ---- attempts ----------------------------------------------------------------------------------------------------

export const findAttemptByStateHash = statement(
  { stateHash: C.state_hash },
  (d) => `SELECT ${ATTEMPT_COLUMNS} FROM ${d.t('attempts')} WHERE state_hash = @stateHash`,
);

export const listAttempts = statement(
  { customerId: C.customer_id },
  (d) => `SELECT ${ATTEMPT_COLUMNS} FROM ${d.t('attempts')} WHERE @customerId IS NULL OR customer_id = @customerId ORDER BY attempt_id`,
);

export const listRecentAttempts = statement(
  { customerId: C.customer_id, since: C.datetime, limit: C.int },
  (d) => `SELECT ${d.top('@limit')} ${ATTEMPT_COLUMNS} FROM ${d.t('attempts')}
    WHERE created_at >= @since AND (@customerId IS NULL OR customer_id = @customerId)
    ORDER BY created_at DESC, attempt_id DESC ${d.limit('@limit')}`,
);

const consumption = { stateHash: C.state_hash, now: C.datetime, sellingPartnerId: C.selling_partner_id, codeHash: C.state_hash, exchangeDeadline: C.datetime } as const;
const consume = (d: Dialect, pendingOnly: boolean): string =>
  `UPDATE ${d.t('attempts')} SET consumed_at = @now, selling_partner_id = @sellingPartnerId, code_hash = @codeHash, exchange_deadline = @exchangeDeadline
    WHERE state_hash = @stateHash AND consumed_at IS NULL${pendingOnly ? " AND outcome = 'pending'" : ''} AND expires_at > @now`;

/** Open (pending, unconsumed, unexpired) attempts of (customer, scope); anonymous Login-URI ones and signed ones apart. */
export const countOpenAttempts = statement(
  { ...key, createdAt: C.datetime, flow: C.flow },
  (d) => `SELECT COUNT(*) AS n FROM ${d.t('attempts')}
    WHERE customer_id = @customerId AND scope = @scope AND outcome = 'pending' AND consumed_at IS NULL AND expires_at > @createdAt
      AND CASE WHEN flow = 'reauthorize' THEN 1 ELSE 0 END = CASE WHEN @flow = 'reauthorize' THEN 1 ELSE 0 END`,
);

export const insertStartedAttempt = statement(
  {
    ...key,
    region: C.region,
    stateHash: C.state_hash,
    browserBindingHash: C.state_hash,
    flow: C.flow,
    expectedSellingPartnerId: C.selling_partner_id,
    marketplace: C.marketplace,
    createdAt: C.datetime,
    expiresAt: C.datetime,
  },
  (d) => `INSERT INTO ${d.t('attempts')}
      (state_hash, browser_binding_hash, flow, expected_selling_partner_id, customer_id, scope, region, marketplace, created_at, expires_at, outcome)
    VALUES (@stateHash, @browserBindingHash, @flow, @expectedSellingPartnerId, @customerId, @scope, @region, @marketplace, @createdAt, @expiresAt, 'pending')`,
);

export const markAttemptSucceeded = statement(
  { attemptId: C.attempt_id, now: C.datetime },
  (d) => `UPDATE ${d.t('attempts')} SET outcome = 'succeeded', reason = NULL, completed_at = @now WHERE attempt_id = @attemptId`,
);

/** Spends the state: true for exactly one caller (one conditional UPDATE). */
export const consumeAttempt = statement(consumption, (d) => consume(d, false));
/** The same, only for an attempt still pending (acceptCallback). */
export const consumePendingAttempt = statement(consumption, (d) => consume(d, true));

/**
 * The ended attempts created before @olderThan (attemptEndedAt: any outcome but pending, or abandoned / interrupted at @now), oldest
 * first, at most @limit, never the newest started attempt of a (customer, scope). COALESCE: where no started attempt
 * exists (a NULL subquery), nothing is protected, rather than everything.
 */
const purgeVictims = (d: Dialect): string => `SELECT ${d.top('@limit')} a.attempt_id FROM ${d.t('attempts')} AS a
    WHERE a.created_at < @olderThan
      AND ${attemptEndedSql('a', '@now')}
      AND a.attempt_id <> COALESCE((
        SELECT ${d.top('1')} l.attempt_id FROM ${d.t('attempts')} AS l
        WHERE l.customer_id = a.customer_id AND l.scope = a.scope AND ${lastAttemptConditionSql('l')}
        ORDER BY l.created_at DESC, l.attempt_id DESC ${d.limit('1')}), -1)
    ORDER BY a.created_at, a.attempt_id ${d.limit('@limit')}`;
const purge = { olderThan: C.datetime, now: C.datetime, limit: C.int } as const;
export const countPurgeableAttempts = statement(purge, (d) => `SELECT COUNT(*) AS n FROM (${purgeVictims(d)}) AS victims`);
export const purgeAttempts = statement(purge, (d) => `DELETE FROM ${d.t('attempts')} WHERE attempt_id IN (SELECT attempt_id FROM (${purgeVictims(d)}) AS victims)`);

// ---- shared access tokens ----------------------------------------------------------------------------------------

/** Writes the token and frees the lease, only while `owner` holds it and the credential generation is unchanged. */
export const storeSharedAccessToken = statement(
  {
    ...key,
    owner: C.lease_owner,
    generation: C.credential_generation,
    sellingPartnerId: C.selling_partner_id,
    expectedRefreshToken: C.lwa_refresh_token,
    accessToken: C.access_token,
    expiresAt: C.datetime,
    now: C.datetime,
  },
  (d) => `UPDATE ${d.t('accessTokens')}
    SET credential_generation = @generation, access_token = @accessToken, expires_at = @expiresAt, refreshed_at = @now,
        lease_owner = NULL, lease_until = NULL, updated_at = @now
    WHERE customer_id = @customerId AND scope = @scope AND lease_owner = @owner
      AND EXISTS (
        SELECT 1 FROM ${d.t('credentials')} AS c
        WHERE c.customer_id = @customerId AND c.scope = @scope AND c.status = 'authorized'
          AND c.selling_partner_id = @sellingPartnerId AND ${d.same('c.lwa_refresh_token', '@expectedRefreshToken')})`,
);

/** The access token an authorization's code exchange returned, for the fleet (the seed of the shared row). */
const seed = {
  ...key,
  region: C.region,
  accessToken: C.access_token,
  generation: C.credential_generation,
  accessTokenExpiresAt: C.datetime,
  now: C.datetime,
} as const;
export const updateSharedAccessToken = statement(
  seed,
  (d) => `UPDATE ${d.t('accessTokens')} SET credential_generation = @generation, access_token = @accessToken,
      expires_at = @accessTokenExpiresAt, refreshed_at = @now, lease_owner = NULL, lease_until = NULL, updated_at = @now
    WHERE customer_id = @customerId AND scope = @scope`,
);
export const insertSharedAccessToken = statement(
  seed,
  (d) => `INSERT INTO ${d.t('accessTokens')} (customer_id, scope, region, credential_generation, access_token, expires_at, refreshed_at, updated_at)
    VALUES (@customerId, @scope, @region, @generation, @accessToken, @accessTokenExpiresAt, @now, @now)`,
);

export const releaseAccessTokenLease = statement(
  { ...key, owner: C.lease_owner },
  (d) => `UPDATE ${d.t('accessTokens')} SET lease_owner = NULL, lease_until = NULL
    WHERE customer_id = @customerId AND scope = @scope AND lease_owner = @owner`,
);

/** The shared token of a credential whose refresh token is gone (revoked, unlinked): never served again. */
export const deleteSharedAccessToken = statement(key, (d) => `DELETE FROM ${d.t('accessTokens')} WHERE customer_id = @customerId AND scope = @scope`);

// ---- events ------------------------------------------------------------------------------------------------------

/** An event, inside the transaction of the change it tells of. */
export const insertEvent = statement(
  { eventType: C.event_type, ...key, region: C.region, sellingPartnerId: C.selling_partner_id, now: C.datetime, eventData: C.data },
  (d) => `INSERT INTO ${d.t('events')} (event_type, customer_id, scope, region, selling_partner_id, occurred_at, data)
    VALUES (@eventType, @customerId, @scope, @region, @sellingPartnerId, @now, @eventData)`,
);

/**
 * The heads of the queues that are due, leased by the same UPDATE. The outer conditions read again, on the rows
 * updated (under their locks), that they are still pending and due: on SQL Server the subquery reads a row version
 * (READ COMMITTED SNAPSHOT), so without them two deliverers racing could lease one event.
 */
export const claimDueEvents = statement(
  { now: C.datetime, leaseUntil: C.datetime, limit: C.int },
  (d) => `UPDATE ${d.t('events')} SET next_attempt_at = @leaseUntil ${d.output(EVENT_COLUMNS)}
    WHERE event_id IN (
      SELECT ${d.top('@limit')} e.event_id FROM ${d.t('events')} AS e
      WHERE e.delivery_state = 'pending' AND (e.next_attempt_at IS NULL OR e.next_attempt_at <= @now)
        AND NOT EXISTS (
          SELECT 1 FROM ${d.t('events')} AS p
          WHERE p.customer_id = e.customer_id AND p.scope = e.scope AND p.delivery_state = 'pending' AND p.event_id < e.event_id)
      ORDER BY e.event_id ${d.limit('@limit')})
      AND delivery_state = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= @now)
    ${d.returning(EVENT_COLUMNS)}`,
);

export const recordDelivery = statement(
  { eventId: C.event_id, state: C.delivery_state, next: C.datetime, deliveredAt: C.datetime, error: C.last_delivery_error },
  (d) => `UPDATE ${d.t('events')} SET delivery_state = @state, next_attempt_at = @next, delivered_at = @deliveredAt,
      last_delivery_error = @error, delivery_attempts = delivery_attempts + 1
    WHERE event_id = @eventId AND delivery_state = 'pending'`,
);

const eventVictims = (d: Dialect): string => `SELECT ${d.top('@limit')} event_id FROM ${d.t('events')}
    WHERE delivery_state = 'delivered' AND occurred_at < @olderThan ORDER BY event_id ${d.limit('@limit')}`;
const eventPurge = { olderThan: C.datetime, limit: C.int } as const;
export const countPurgeableEvents = statement(eventPurge, (d) => `SELECT COUNT(*) AS n FROM (${eventVictims(d)}) AS victims`);
export const purgeEvents = statement(eventPurge, (d) => `DELETE FROM ${d.t('events')} WHERE event_id IN (SELECT event_id FROM (${eventVictims(d)}) AS victims)`);

export const listEvents = statement(
  { customerId: C.customer_id, after: C.event_id, limit: C.int },
  (d) => `SELECT ${d.top('@limit')} ${EVENT_COLUMNS.join(', ')} FROM ${d.t('events')}
    WHERE (@customerId IS NULL OR customer_id = @customerId) AND event_id > @after ORDER BY event_id ${d.limit('@limit')}`,
);

// ---- the sweep's checks ------------------------------------------------------------------------------------------

export const listCredentialChecks = statement(
  { customerId: C.customer_id },
  (d) => `SELECT customer_id, scope, region, lease_until, checked_at, check_outcome, check_error, verified_at, marketplace_ids, country_codes,
      store_name, flag, reminded_threshold, reminded_for_grant
    FROM ${d.t('checks')} WHERE @customerId IS NULL OR customer_id = @customerId ORDER BY customer_id, scope`,
);

// ---- app-wide incidents ------------------------------------------------------------------------------------------

export const INCIDENT_COLUMNS = 'kind, opened_at, last_seen_at, ended_at, seen_count, detail';
export const listIncidents = statement({}, (d) => `SELECT ${INCIDENT_COLUMNS} FROM ${d.t('incidents')} ORDER BY kind`);

export const ping = statement({}, () => 'SELECT 1 AS ok');
