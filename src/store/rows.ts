import {
  ATTEMPT_OUTCOMES,
  CREDENTIAL_STATUSES,
  isRegion,
  STORED_ATTEMPT_OUTCOMES,
  type AccessTokenSource,
  type AttemptFlow,
  type AttemptRecord,
  type CredentialSecrets,
  type CredentialStatusRow,
  type CredentialSummary,
  type EnvelopeSample,
  type Region,
} from '../credentials/index.js';

/**
 * Row → record mapping shared by both stores. Drivers differ only in spelling: SQLite hands back dates as ISO
 * text and booleans as 0/1; mssql hands back Date objects, BIT as true/false, and BIGINT as a string.
 */
export type Row = Record<string, unknown>;

export const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function date(v: unknown): Date | null {
  if (v instanceof Date) return v;
  return typeof v === 'string' ? new Date(v) : null;
}

function requiredDate(v: unknown, column: string): Date {
  const d = date(v);
  if (d === null || Number.isNaN(d.getTime())) throw new Error(`${column} is not a date`);
  return d;
}


function wholeNumber(v: unknown, column: string): number | null {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`${column} is not a whole number`);
  return n;
}

/**
 * A closed value read from a row: a value this code does not know (a row written by newer code) fails loudly, naming
 * the column, rather than passing on as an unknown status.
 */
function oneOf<T extends string>(allowed: readonly T[], v: unknown, column: string): T {
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  throw new Error(`${column} holds a value this code does not know`);
}

function region(v: unknown, column = 'region'): Region {
  if (typeof v === 'string' && isRegion(v)) return v;
  throw new Error(`${column} holds a value this code does not know`);
}

/** A region column as read from a row (a value this code does not know fails loudly). */
export const toRegion = (v: unknown): Region => region(v);

const nullableRegion = (v: unknown): Region | null => (v === null || v === undefined ? null : region(v));

const FLOWS: readonly AttemptFlow[] = ['website', 'reauthorize', 'appstore', 'callback', 'refresh', 'ops', 'self_authorization'];

/** Expects a `has_refresh_token` column: the summary never carries the token itself. */
export function toSummary(row: Row): CredentialSummary {
  return {
    customerId: String(row['customer_id']),
    region: region(row['region']),
    marketplace: text(row['marketplace']),
    sellingPartnerId: text(row['selling_partner_id']),
    status: oneOf(CREDENTIAL_STATUSES, row['status'], 'status'),
    lastError: text(row['last_error']),
    authRequestedDate: date(row['auth_requested_date']),
    authGrantedDate: date(row['auth_granted_date']),
    lwaRefreshTokenDate: date(row['lwa_refresh_token_date']),
    updatedAt: requiredDate(row['updated_at'], 'updated_at'),
    hasRefreshToken: row['has_refresh_token'] === true || row['has_refresh_token'] === 1,
  };
}

/** The summary plus the secret columns, exactly as stored (envelopes). */
export function toCredential(row: Row): CredentialSummary & CredentialSecrets {
  return {
    ...toSummary(row),
    lwaRefreshToken: text(row['lwa_refresh_token']),
    spapiOauthCode: text(row['spapi_oauth_code']),
    mwsAuthToken: text(row['mws_auth_token']),
  };
}

export function toAttempt(row: Row): AttemptRecord {
  const attemptId = wholeNumber(row['attempt_id'], 'attempt_id');
  if (attemptId === null) throw new Error('attempt row without attempt_id');
  return {
    attemptId,
    stateHash: text(row['state_hash']),
    browserBindingHash: text(row['browser_binding_hash']),
    flow: oneOf(FLOWS, row['flow'], 'flow'),
    customerId: text(row['customer_id']),
    region: nullableRegion(row['region']),
    marketplace: text(row['marketplace']),
    sellingPartnerId: text(row['selling_partner_id']),
    expectedSellingPartnerId: text(row['expected_selling_partner_id']),
    codeHash: text(row['code_hash']),
    createdAt: requiredDate(row['created_at'], 'created_at'),
    expiresAt: date(row['expires_at']),
    consumedAt: date(row['consumed_at']),
    exchangeDeadline: date(row['exchange_deadline']),
    completedAt: date(row['completed_at']),
    outcome: oneOf(STORED_ATTEMPT_OUTCOMES, row['outcome'], 'outcome'),
    reason: text(row['reason']),
    lwaError: text(row['lwa_error']),
    lwaErrorDescription: text(row['lwa_error_description']),
    relatedAttemptId: wholeNumber(row['related_attempt_id'], 'related_attempt_id'),
    refusalCount: wholeNumber(row['refusal_count'], 'refusal_count') ?? 0,
  };
}


/** A row of the status query (the view's columns, status and days_left computed for the caller's `now`). */
export function toStatusRow(row: Row): CredentialStatusRow {
  return {
    customerId: String(row['customer_id']),
    region: region(row['region']),
    marketplace: text(row['marketplace']),
    sellingPartnerId: text(row['selling_partner_id']),
    status: oneOf([...CREDENTIAL_STATUSES, 'expired'] as const, row['status'], 'status'),
    authRequestedDate: date(row['auth_requested_date']),
    authGrantedDate: date(row['auth_granted_date']),
    reauthorizeBy: date(row['reauthorize_by']),
    daysLeft: wholeNumber(row['days_left'], 'days_left'),
    lastError: text(row['last_error']),
    lastAttemptAt: date(row['last_attempt_at']),
    lastAttemptOutcome: row['last_attempt_outcome'] === null || row['last_attempt_outcome'] === undefined ? null : oneOf(ATTEMPT_OUTCOMES, row['last_attempt_outcome'], 'last_attempt_outcome'),
    lastAttemptReason: text(row['last_attempt_reason']),
  };
}

export const DAY_MS = 86_400_000;

/**
 * StatusFilter.expiringWithinDays as the largest `ms_left` (milliseconds from now to reauthorize_by) a row may have
 * to be listed: reauthorize_by <= now + N days. Undefined: no filter. Both stores filter on the same integer.
 */
/**
 * "Expiring within N days" means days_left <= N, as ops read the table: a deadline less than N + 1 whole days
 * away (expired ones included). Returned as the bound the stores compare with `ms_left < bound`.
 */
export function expiringWithinMs(days: number | undefined): number | undefined {
  if (days === undefined) return undefined;
  if (!Number.isInteger(days) || days < 0) throw new Error('expiringWithinDays must be a whole number of days, 0 or more');
  const ms = (days + 1) * DAY_MS;
  if (!Number.isSafeInteger(ms)) throw new Error('expiringWithinDays is too large');
  return ms;
}

export const DEFAULT_RECENT_ATTEMPTS_LIMIT = 200;

/** listRecentAttempts' limit: a positive whole number, 200 when not given. */
export function recentAttemptsLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_RECENT_ATTEMPTS_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 2_147_483_647) throw new Error('limit must be a whole number, 1 or more');
  return limit;
}

/** A health sample's row (customer_id, region, lwa_refresh_token); undefined for a row without an envelope. */
export function toEnvelopeSample(row: Row): EnvelopeSample | undefined {
  const envelope = text(row['lwa_refresh_token']);
  const customerId = text(row['customer_id']);
  if (envelope === null || customerId === null) return undefined;
  return { customerId, region: region(row['region']), envelope };
}

/** The shared token row's columns in a join (alias `t`), prefixed so they cannot clash with the credential's. */
export const SHARED_TOKEN_COLUMNS = `t.region AS t_region, t.credential_generation AS t_generation, t.access_token AS t_access_token,
  t.expires_at AS t_expires_at, t.refreshed_at AS t_refreshed_at, t.lease_owner AS t_lease_owner, t.lease_until AS t_lease_until`;

/** A credential row joined with its sp_api_access_tokens row (absent when t_region is NULL). */
export function toAccessTokenSource(row: Row): AccessTokenSource {
  return {
    credential: toCredential(row),
    shared:
      row['t_region'] === null || row['t_region'] === undefined
        ? undefined
        : {
            generation: text(row['t_generation']),
            accessToken: text(row['t_access_token']),
            expiresAt: date(row['t_expires_at']),
            refreshedAt: date(row['t_refreshed_at']),
            leaseOwner: text(row['t_lease_owner']),
            leaseUntil: date(row['t_lease_until']),
          },
  };
}
