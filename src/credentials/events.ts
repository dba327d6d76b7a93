import { DAY_MS, REAUTHORIZE_AFTER_DAYS } from './deadlines.js';
import type { CredentialScope, Region } from './marketplaces.js';

/**
 * The events oxWebApp learns of a seller's authorization by: one row of `sp_api_events` per change, written in the
 * same transaction as the change (the outbox), then delivered as Standard Webhooks when EVENTS_WEBHOOK_URL is set.
 * `data` never holds a secret: ids, dates, marketplaces and reasons only. The `service.*` events are about the
 * service as a whole (an app-wide incident starting or ending): they name no customer, seller or scope.
 */
export const EVENT_TYPES = [
  'authorization.granted',
  'authorization.reauthorized',
  'authorization.revoked',
  'authorization.restored',
  'authorization.failed',
  'authorization.expiring',
  'authorization.expired',
  'authorization.region_mismatch',
  'authorization.access_denied',
  'authorization.flag_cleared',
  'authorization.unlinked',
  'service.incident_started',
  'service.incident_ended',
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
  /** Null for the service's own events (service.*). */
  customerId: string | null;
  scope: CredentialScope | null;
  region: Region | null;
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
  scope: CredentialScope;
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

/** Column limit of `last_delivery_error`. */
export const DELIVERY_ERROR_LIMIT = 500;

/** `data` of authorization.granted / .reauthorized: the marketplace and the new 365-day deadline. */
export function grantedData(marketplace: string, grantedAt: Date): EventData {
  return { marketplace, reauthorize_by: new Date(grantedAt.getTime() + REAUTHORIZE_AFTER_DAYS * DAY_MS).toISOString() };
}

/** `data` of authorization.failed / .revoked: the reason code and LWA's error code (never its description: free text). */
export function failureData(failure: { reason: string; lwaError?: string | undefined }): EventData {
  return { reason: failure.reason, lwa_error: failure.lwaError ?? null };
}

/** `data` of authorization.unlinked. */
export const UNLINKED_DATA: EventData = { reason: 'unlinked' };

/** `data` of authorization.restored: LWA accepted again the refresh token it had refused (the grant is unchanged). */
export const RESTORED_DATA: EventData = { reason: 'revocation_withdrawn' };

/** `data` of service.incident_started / .incident_ended: the incident, when it was first seen, what Amazon said. */
export function incidentData(incident: { kind: string; openedAt: Date; detail: string | null }): EventData {
  return { incident: incident.kind, first_seen_at: incident.openedAt.toISOString(), detail: incident.detail };
}
