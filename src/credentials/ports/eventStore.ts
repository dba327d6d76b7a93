import type { EventRecord } from '../events.js';

/**
 * The events outbox (sp_api_events), as delivery reads it. The methods that change a credential write its event in
 * their own transaction: completeAuthorization (authorization.granted, or .reauthorized when the row was authorized
 * before), markRevoked (.revoked), failAuthorization (.failed, when the row's status is failed afterwards),
 * unlinkCredential (.unlinked), importRefreshToken, and the sweep's flag and reminder writes.
 */
export interface EventStore {
  /**
   * Claims up to `limit` events due for delivery at `now`: for each (customer, scope) only its oldest pending event
   * (so events reach oxWebApp in order per seller), and only when its next_attempt_at has come. Claimed events get
   * next_attempt_at = `leaseUntil`, in the same statement, so two deliverers at once do not both take one.
   */
  claimDueEvents(claim: EventClaim): Promise<EventRecord[]>;

  /** Writes the outcome of one delivery try: delivered, to be tried again at a time, or given up (failed). */
  recordDelivery(result: DeliveryResult): Promise<void>;

  /** Deletes (or counts) up to `limit` DELIVERED events that occurred before `olderThan`; returns how many. */
  purgeEvents(purge: EventPurge): Promise<number>;

  /** Events by id, oldest first (default limit 200, at most 1000). */
  listEvents(filter?: EventFilter): Promise<EventRecord[]>;
}

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

