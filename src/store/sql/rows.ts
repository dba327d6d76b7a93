import {
  ATTEMPT_FLOWS,
  CHECK_FLAGS,
  CHECK_OUTCOMES,
  CREDENTIAL_STATUSES,
  DELIVERY_STATES,
  EVENT_TYPES,
  INCIDENT_KINDS,
  isRegion,
  isScope,
  STORED_ATTEMPT_OUTCOMES,
  type AccessTokenSource,
  type AttemptRecord,
  type CredentialCheckRecord,
  type CredentialScope,
  type CredentialSecrets,
  type CredentialStatusFacts,
  type CredentialSummary,
  type EnvelopeSample,
  type EventRecord,
  type IncidentRecord,
  type Region,
} from '../../credentials/index.js';

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

/** A scope column as read from a row (a value this code does not know fails loudly). */
export function toScope(v: unknown): CredentialScope {
  if (typeof v === 'string' && isScope(v)) return v;
  throw new Error('scope holds a value this code does not know');
}

const nullableScope = (v: unknown): CredentialScope | null => (v === null || v === undefined ? null : toScope(v));

/** The empty string stands for "none" in the outbox's NOT NULL columns (the service's own events). */
const unlessEmpty = (v: unknown): unknown => (v === '' ? null : v);


/** Expects a `has_refresh_token` column: the summary never carries the token itself. */
export function toSummary(row: Row): CredentialSummary {
  return {
    customerId: String(row['customer_id']),
    scope: toScope(row['scope']),
    region: region(row['region']),
    marketplace: text(row['marketplace']),
    sellingPartnerId: text(row['selling_partner_id']),
    status: oneOf(CREDENTIAL_STATUSES, row['status'], 'status'),
    lastError: text(row['last_error']),
    authRequestedDate: date(row['auth_requested_date']),
    authGrantedDate: date(row['auth_granted_date']),
    lwaRefreshTokenDate: date(row['lwa_refresh_token_date']),
    revokedAt: date(row['revoked_at']),
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
    flow: oneOf(ATTEMPT_FLOWS, row['flow'], 'flow'),
    customerId: text(row['customer_id']),
    scope: nullableScope(row['scope']),
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


/** A row of the ops-view query: the credential's facts and its last started attempt's (last_attempt_* columns). */
export function toStatusFacts(row: Row): CredentialStatusFacts {
  const createdAt = date(row['last_attempt_at']);
  return {
    customerId: String(row['customer_id']),
    scope: toScope(row['scope']),
    region: region(row['region']),
    marketplace: text(row['marketplace']),
    sellingPartnerId: text(row['selling_partner_id']),
    status: oneOf(CREDENTIAL_STATUSES, row['status'], 'status'),
    authRequestedDate: date(row['auth_requested_date']),
    authGrantedDate: date(row['auth_granted_date']),
    revokedAt: date(row['revoked_at']),
    hasRefreshToken: row['has_refresh_token'] === true || row['has_refresh_token'] === 1,
    lastError: text(row['last_error']),
    lastAttempt:
      createdAt === null
        ? null
        : {
            createdAt,
            outcome: oneOf(STORED_ATTEMPT_OUTCOMES, row['last_attempt_outcome'], 'last_attempt_outcome'),
            reason: text(row['last_attempt_reason']),
            expiresAt: date(row['last_attempt_expires_at']),
            consumedAt: date(row['last_attempt_consumed_at']),
            exchangeDeadline: date(row['last_attempt_exchange_deadline']),
          },
  };
}


/** A health sample's row (customer_id, region, lwa_refresh_token); undefined for a row without an envelope. */
export function toEnvelopeSample(row: Row): EnvelopeSample | undefined {
  const envelope = text(row['lwa_refresh_token']);
  const customerId = text(row['customer_id']);
  if (envelope === null || customerId === null) return undefined;
  return { customerId, region: region(row['region']), envelope };
}

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

/** Row → EventRecord for both stores (SQLite: ISO text and numbers; mssql: Date objects and BIGINT as a string). */
export function toEvent(row: Row): EventRecord {
  const eventId = Number(row['event_id']);
  if (!Number.isSafeInteger(eventId)) throw new Error('event_id is not a whole number');
  const occurredAt = date(row['occurred_at']);
  if (occurredAt === null) throw new Error('occurred_at is not a date');
  return {
    eventId,
    type: oneOf(EVENT_TYPES, row['event_type'], 'event_type'),
    customerId: text(unlessEmpty(row['customer_id'])),
    scope: nullableScope(unlessEmpty(row['scope'])),
    region: nullableRegion(unlessEmpty(row['region'])),
    sellingPartnerId: text(row['selling_partner_id']),
    occurredAt,
    data: String(row['data']),
    deliveryState: oneOf(DELIVERY_STATES, row['delivery_state'], 'delivery_state'),
    deliveryAttempts: Number(row['delivery_attempts']),
    nextAttemptAt: date(row['next_attempt_at']),
    deliveredAt: date(row['delivered_at']),
    lastDeliveryError: text(row['last_delivery_error']),
  };
}


/** Row → CredentialCheckRecord for both stores (lists are stored comma-separated). */
export function toCheck(row: Row): CredentialCheckRecord {
  const list = (v: unknown): string[] => (typeof v === 'string' && v !== '' ? v.split(',') : []);
  const outcome = row['check_outcome'];
  const flag = row['flag'];
  const threshold = row['reminded_threshold'];
  return {
    customerId: String(row['customer_id']),
    scope: toScope(row['scope']),
    region: region(row['region']),
    leaseUntil: date(row['lease_until']),
    checkedAt: date(row['checked_at']),
    checkOutcome: outcome === null || outcome === undefined ? null : oneOf(CHECK_OUTCOMES, outcome, 'check_outcome'),
    checkError: text(row['check_error']),
    verifiedAt: date(row['verified_at']),
    marketplaceIds: list(row['marketplace_ids']),
    countryCodes: list(row['country_codes']),
    storeName: text(row['store_name']),
    flag: flag === null || flag === undefined ? null : oneOf(CHECK_FLAGS, flag, 'flag'),
    remindedThreshold: threshold === null || threshold === undefined ? null : Number(threshold),
    remindedForGrant: date(row['reminded_for_grant']),
  };
}

export function toIncident(row: Row): IncidentRecord {
  const opened = requiredDate(row['opened_at'], 'opened_at');
  return {
    kind: oneOf(INCIDENT_KINDS, row['kind'], 'kind'),
    openedAt: opened,
    lastSeenAt: requiredDate(row['last_seen_at'], 'last_seen_at'),
    endedAt: date(row['ended_at']),
    seenCount: wholeNumber(row['seen_count'], 'seen_count') ?? 1,
    detail: text(row['detail']),
  };
}
