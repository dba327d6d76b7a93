import { describeError, type Clock, type EventRecord, type EventStore, type Logger } from '../credentials/index.js';
import { DELIVERY_LEASE_MS, MAX_DELIVERY_ATTEMPTS, nextDeliveryAttempt } from './deliveryPolicy.js';

/** Sends one event to oxWebApp: undefined when it was accepted, else what went wrong (never a body or a secret). */
export interface EventSender {
  send(event: EventRecord): Promise<string | undefined>;
}

export interface EventDeliveryOptions {
  store: EventStore;
  /** The webhook (webhooks/webhookSender.ts); undefined: events stay in the table (its rows are the interface). */
  sender: EventSender | undefined;
  clock: Clock;
  logger: Logger;
  /** Events claimed per round trip (default 50). */
  batchSize?: number;
  /** A run stops after this many tries (default 1000), so one timer run stays short; the next goes on. */
  maxPerRun?: number;
  /**
   * Runs a nudged delivery apart from the invocation that made the change (its lines then go to the process log,
   * not to a finished invocation): the host's logging.outsideInvocation. Default: as it is.
   */
  detach?: (work: () => void) => void;
}

export interface DeliveryRun {
  delivered: number;
  retrying: number;
  failed: number;
}

/**
 * Delivers the outbox as Standard Webhooks: POST of the JSON payload with `webhook-id` (`evt_<event_id>`, the same on
 * every retry), `webhook-timestamp` and `webhook-signature` (HMAC-SHA256, the `standardwebhooks` package). In order
 * per seller: only the oldest pending event of a (customer, scope) is ever claimed, so the next waits until it is
 * delivered or given up. At least once: an event is marked delivered only after a 2xx, so a lost answer means it is
 * sent again (receivers drop duplicates by webhook-id). A refused try waits DELIVERY_BACKOFF_MS (30 s up to 8 h, 10
 * tries over about 24 h); after the last one the event is `failed`, logged as an error, and the seller's next goes on.
 * Run by the EventDelivery timer every minute and nudged right after a change (`nudge`, never awaited by a page).
 */
export class EventDelivery {
  private running: Promise<DeliveryRun> | undefined;
  private again = false;

  constructor(private readonly options: EventDeliveryOptions) {}

  get enabled(): boolean {
    return this.options.sender !== undefined;
  }

  /**
   * Sends what is due now, claiming in batches until nothing is due (or maxPerRun tries). One run at a time per
   * process: a call while one runs waits for it and then runs once more (what it wrote may be due).
   */
  async deliverDue(): Promise<DeliveryRun> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    const run = this.runUntilIdle().finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }

  /**
   * Resolves once no delivery run is in progress (a nudged one included), its outcomes recorded; never rejects. Called
   * before the store closes, so a short-lived process (`npm run ops`) does not close it under a POST in flight.
   */
  async settle(): Promise<void> {
    while (this.running !== undefined) await this.running.catch(() => undefined);
  }

  /** Right after a change: a delivery run in the background. Errors are logged, never thrown at the caller. */
  nudge(): void {
    if (!this.enabled) return;
    // Outlives the request that made the change: its lines go to the process log, not to that finished invocation.
    (this.options.detach ?? ((work: () => void) => work()))(() => {
      this.deliverDue().catch((error: unknown) => this.options.logger.warn('event delivery failed', { error: describeError(error) }));
    });
  }

  private async runUntilIdle(): Promise<DeliveryRun> {
    const total: DeliveryRun = { delivered: 0, retrying: 0, failed: 0 };
    do {
      this.again = false;
      const run = await this.runOnce();
      total.delivered += run.delivered;
      total.retrying += run.retrying;
      total.failed += run.failed;
    } while (this.again);
    return total;
  }

  private async runOnce(): Promise<DeliveryRun> {
    const run: DeliveryRun = { delivered: 0, retrying: 0, failed: 0 };
    const { sender } = this.options;
    if (sender === undefined) return run;
    const batchSize = this.options.batchSize ?? 50;
    const maxPerRun = this.options.maxPerRun ?? 1000;
    let tries = 0;
    while (tries < maxPerRun) {
      const now = this.options.clock.now();
      const claimed = await this.options.store.claimDueEvents({ now, leaseUntil: new Date(now.getTime() + DELIVERY_LEASE_MS), limit: batchSize });
      if (claimed.length === 0) break;
      // Different sellers at once; one seller's events one after the other (each claim holds one per seller).
      const outcomes = await Promise.all(claimed.map((event) => this.deliverOne(sender, event)));
      for (const outcome of outcomes) run[outcome] += 1;
      tries += claimed.length;
    }
    return run;
  }

  private async deliverOne(sender: EventSender, event: EventRecord): Promise<keyof DeliveryRun> {
    const error = await sender.send(event);
    const now = this.options.clock.now();
    if (error === undefined) {
      await this.options.store.recordDelivery({ eventId: event.eventId, outcome: 'delivered', now });
      return 'delivered';
    }
    const attempts = event.deliveryAttempts + 1;
    const next = attempts >= MAX_DELIVERY_ATTEMPTS ? null : nextDeliveryAttempt(attempts, now);
    if (next === null) {
      await this.options.store.recordDelivery({ eventId: event.eventId, outcome: 'failed', now, error });
      this.options.logger.error('event not delivered: gave up after every retry', {
        eventId: event.eventId,
        type: event.type,
        customerId: event.customerId,
        scope: event.scope,
        attempts,
        error,
      });
      return 'failed';
    }
    await this.options.store.recordDelivery({ eventId: event.eventId, outcome: 'retry', now, nextAttemptAt: next, error });
    this.options.logger.warn('event delivery refused; will retry', { eventId: event.eventId, attempts, error, nextAttemptAt: next.toISOString() });
    return 'retrying';
  }
}
