import { isRegion } from '../authorization/marketplaces.js';
import { DELIVERY_STATES, EVENT_TYPES, type DeliveryState, type EventFilter, type EventRecord, type EventType } from '../events/events.js';
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
