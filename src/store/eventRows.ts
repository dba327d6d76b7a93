import {
  CHECK_FLAGS,
  CHECK_OUTCOMES,
  DELIVERY_STATES,
  EVENT_TYPES,
  isRegion,
  type CheckFlag,
  type CheckOutcome,
  type CredentialCheckRecord,
  type DeliveryState,
  type EventFilter,
  type EventRecord,
  type EventType,
} from '../credentials/index.js';
import { date, text, type Row } from './rows.js';

/** Row → EventRecord for both stores (SQLite: ISO text and numbers; mssql: Date objects and BIGINT as a string). */
export function toEvent(row: Row): EventRecord {
  const eventId = Number(row['event_id']);
  if (!Number.isSafeInteger(eventId)) throw new Error('event_id is not a whole number');
  const region = row['region'];
  if (typeof region !== 'string' || !isRegion(region)) throw new Error('region holds a value this code does not know');
  const occurredAt = date(row['occurred_at']);
  if (occurredAt === null) throw new Error('occurred_at is not a date');
  return {
    eventId,
    type: known<EventType>(EVENT_TYPES, row['event_type'], 'event_type'),
    customerId: String(row['customer_id']),
    region,
    sellingPartnerId: text(row['selling_partner_id']),
    occurredAt,
    data: String(row['data']),
    deliveryState: known<DeliveryState>(DELIVERY_STATES, row['delivery_state'], 'delivery_state'),
    deliveryAttempts: Number(row['delivery_attempts']),
    nextAttemptAt: date(row['next_attempt_at']),
    deliveredAt: date(row['delivered_at']),
    lastDeliveryError: text(row['last_delivery_error']),
  };
}

function known<T extends string>(allowed: readonly T[], v: unknown, column: string): T {
  const found = allowed.find((a) => a === v);
  if (found === undefined) throw new Error(`${column} holds a value this code does not know`);
  return found;
}

/** listEvents' limit: 200 unless given, 1 to 1000. */
export function eventListLimit(filter: EventFilter): number {
  const limit = filter.limit ?? 200;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new Error('event list limit must be a whole number from 1 to 1000');
  return limit;
}

/** claimDueEvents' and purgeEvents' limit: 1 to 10000. */
export function eventBatchLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) throw new Error('event batch limit must be a whole number from 1 to 10000');
  return limit;
}

/** Row → CredentialCheckRecord for both stores (lists are stored comma-separated). */
export function toCheck(row: Row): CredentialCheckRecord {
  const region = row['region'];
  if (typeof region !== 'string' || !isRegion(region)) throw new Error('region holds a value this code does not know');
  const list = (v: unknown): string[] => (typeof v === 'string' && v !== '' ? v.split(',') : []);
  const outcome = row['check_outcome'];
  const flag = row['flag'];
  const threshold = row['reminded_threshold'];
  return {
    customerId: String(row['customer_id']),
    region,
    leaseUntil: date(row['lease_until']),
    checkedAt: date(row['checked_at']),
    checkOutcome: outcome === null || outcome === undefined ? null : known<CheckOutcome>(CHECK_OUTCOMES, outcome, 'check_outcome'),
    checkError: text(row['check_error']),
    verifiedAt: date(row['verified_at']),
    marketplaceIds: list(row['marketplace_ids']),
    countryCodes: list(row['country_codes']),
    storeName: text(row['store_name']),
    flag: flag === null || flag === undefined ? null : known<CheckFlag>(CHECK_FLAGS, flag, 'flag'),
    remindedThreshold: threshold === null || threshold === undefined ? null : Number(threshold),
    remindedForGrant: date(row['reminded_for_grant']),
  };
}

/** The comma-separated columns, refused (never cut) when longer than their column. */
export function checkListText(values: readonly string[], limit: number): string {
  const joined = values.join(',');
  if (joined.length > limit) throw new Error(`check list is longer than ${limit} characters`);
  return joined;
}
