import type { Region } from '../authorization/marketplaces.js';

/**
 * The events oxWebApp learns of a seller's authorization by: one row of `sp_api_events` per change, written in the
 * same transaction as the change (the outbox), then delivered as Standard Webhooks when EVENTS_WEBHOOK_URL is set.
 * `data` never holds a secret: ids, dates, marketplaces and reasons only.
 */
export const EVENT_TYPES = [
  'authorization.granted',
  'authorization.reauthorized',
  'authorization.revoked',
  'authorization.failed',
  'authorization.expiring',
  'authorization.expired',
  'authorization.region_mismatch',
  'authorization.access_denied',
  'authorization.unlinked',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * `pending`: not delivered yet (the only state without a webhook URL: the table is then the interface).
 * `delivered`: a 2xx answer came back. `failed`: every try of DELIVERY_BACKOFF_MS was refused; later events of the
 * same seller go on.
 */
export const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** Event-specific fields; JSON-serializable, no secret. */
export type EventData = Record<string, string | number | boolean | null | string[]>;

/** One row of `sp_api_events`. */
export interface EventRecord {
  eventId: number;
  type: EventType;
  customerId: string;
  region: Region;
  sellingPartnerId: string | null;
  occurredAt: Date;
  /** The JSON text as stored. */
  data: string;
  deliveryState: DeliveryState;
  /** Tries made so far (answered or not). */
  deliveryAttempts: number;
  /** Not tried before this (null: at once); also the lease of a try in progress. */
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  lastDeliveryError: string | null;
}

/** A new event, for the store methods that write one beside a change (the sweep's flags and reminders). */
export interface NewEvent {
  type: EventType;
  customerId: string;
  region: Region;
  sellingPartnerId: string | null;
  occurredAt: Date;
  data: EventData;
}

/** Column limit of `sp_api_events.data` (NVARCHAR(4000)). */
export const EVENT_DATA_LIMIT = 4000;

/** `data` as stored: compact JSON, refused (never cut) when longer than its column. */
export function eventDataJson(data: EventData): string {
  const json = JSON.stringify(data);
  if (json.length > EVENT_DATA_LIMIT) throw new Error(`event data is longer than ${EVENT_DATA_LIMIT} characters`);
  return json;
}

/**
 * The waits between tries of one event, in ms: exponential from 30 s, 10 tries over about 24 hours (23 h 42 min from
 * the first try to the last). After the last one the event is `failed` and the seller's next event goes on.
 */
export const DELIVERY_BACKOFF_MS: readonly number[] = [
  30_000, 2 * 60_000, 10 * 60_000, 30 * 60_000, 60 * 60_000, 2 * 3_600_000, 4 * 3_600_000, 8 * 3_600_000, 8 * 3_600_000,
];
export const MAX_DELIVERY_ATTEMPTS = DELIVERY_BACKOFF_MS.length + 1;

/** When to try again after the `attempts`-th failed try (1-based), or null when that was the last try. */
export function nextDeliveryAttempt(attempts: number, now: Date): Date | null {
  const wait = DELIVERY_BACKOFF_MS[attempts - 1];
  return wait === undefined ? null : new Date(now.getTime() + wait);
}

/** How long one claimed event is left to its deliverer before another may try it (a process that died mid-POST). */
export const DELIVERY_LEASE_MS = 2 * 60_000;

export interface EventClaim {
  now: Date;
  /** Claimed events are not due again before this (the lease). */
  leaseUntil: Date;
  limit: number;
}

export type DeliveryResult =
  | { eventId: number; outcome: 'delivered'; now: Date }
  | { eventId: number; outcome: 'retry'; now: Date; nextAttemptAt: Date; error: string }
  | { eventId: number; outcome: 'failed'; now: Date; error: string };

export interface EventPurge {
  /** Delivered events that occurred before this are deleted. */
  olderThan: Date;
  limit: number;
  dryRun: boolean;
}

export interface EventFilter {
  customerId?: string | undefined;
  /** Only events with a larger id (paging through the table). */
  afterEventId?: number | undefined;
  limit?: number | undefined;
}

/** Column limit of `last_delivery_error`. */
export const DELIVERY_ERROR_LIMIT = 500;

/** The webhook's body, as Standard Webhooks recommends: `type`, `timestamp` (when it occurred), `data`. */
export interface WebhookPayload {
  type: EventType;
  timestamp: string;
  data: Record<string, unknown>;
}

/** The body sent for an event: the row's ids and occurrence merged into its data. */
export function webhookPayload(event: EventRecord): WebhookPayload {
  const parsed: unknown = JSON.parse(event.data);
  const specific = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  return {
    type: event.type,
    timestamp: event.occurredAt.toISOString(),
    data: {
      event_id: event.eventId,
      customer_id: event.customerId,
      region: event.region,
      selling_partner_id: event.sellingPartnerId,
      ...specific,
    },
  };
}

/** The Standard Webhooks message id of an event: stable across retries, so a receiver can drop duplicates. */
export const webhookMessageId = (eventId: number): string => `evt_${eventId}`;

const DAY_MS = 86_400_000;
/** Amazon makes sellers re-authorize every 365 days (REAUTHORIZE_AFTER_DAYS in the store's domain). */
const REAUTHORIZE_AFTER_MS = 365 * DAY_MS;

/** `data` of authorization.granted / .reauthorized: the marketplace and the new 365-day deadline. */
export function grantedData(marketplace: string, grantedAt: Date): EventData {
  return { marketplace, reauthorize_by: new Date(grantedAt.getTime() + REAUTHORIZE_AFTER_MS).toISOString() };
}

/** `data` of authorization.failed / .revoked: the reason code and LWA's error code (never its description: free text). */
export function failureData(failure: { reason: string; lwaError?: string | undefined }): EventData {
  return { reason: failure.reason, lwa_error: failure.lwaError ?? null };
}

/** `data` of authorization.unlinked. */
export const UNLINKED_DATA: EventData = { reason: 'unlinked' };
