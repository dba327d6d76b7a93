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
  /** POSTs in flight at once, each to another seller (default 16): one slow receiver answer holds one of them only. */
  concurrency?: number;
  /** A run stops claiming after this many tries (default 1000), so one timer run stays short; the next goes on. */
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

/** Default of EventDeliveryOptions.concurrency. */
export const DELIVERY_CONCURRENCY = 16;

/**
 * Delivers the outbox as Standard Webhooks: POST of the JSON payload with `webhook-id` (`evt_<event_id>`, the same on
 * every retry), `webhook-timestamp` and `webhook-signature` (HMAC-SHA256, the `standardwebhooks` package). In order
 * per seller: only the oldest pending event of a (customer, scope) is ever claimed, so the next waits until it is
 * delivered or given up. At least once: an event is marked delivered only after a 2xx, so a lost answer means it is
 * sent again (receivers drop duplicates by webhook-id). A refused try waits DELIVERY_BACKOFF_MS (30 s up to 8 h, 10
 * tries over about 24 h); after the last one the event is `failed`, logged as an error, and the seller's next goes on.
 * Sellers never wait for each other: up to `concurrency` POSTs are in flight, and each one that ends makes room for
 * the next claim, so a receiver that hangs on one seller's event (up to the sender's 10 s) holds only that seller.
 * Run by the EventDelivery timer every minute and nudged right after a change (`nudge`, never awaited by a page).
 */
export class EventDelivery {
  /** The end of the last pass started or queued: passes run one after another in this process. */
  private tail: Promise<unknown> = Promise.resolve();
  /** Passes queued or running. */
  private passes = 0;
  /** A pass is running now (not merely queued). */
  private running = false;
  /** Something was written (or asked for) since the running pass's last claim: it claims once more before it ends. */
  private again = false;
  /** Wakes the running pass while it waits for a POST to end, so it claims at once (set only while it waits). */
  private wake: (() => void) | undefined;

  constructor(private readonly options: EventDeliveryOptions) {}

  get enabled(): boolean {
    return this.options.sender !== undefined;
  }

  /**
   * Sends what is due now, claiming until nothing is due (or maxPerRun tries), and returns what this pass did, and
   * only that. One pass at a time per process: a call while another runs waits for it to end, then makes its own.
   */
  async deliverDue(): Promise<DeliveryRun> {
    return this.queuePass();
  }

  /**
   * Resolves once no delivery pass is queued or running (a nudged one included), its outcomes recorded; never rejects.
   * Called before the store closes, so a short-lived process (`npm run ops`) does not close it under a POST in flight.
   */
  async settle(): Promise<void> {
    while (this.passes > 0) await this.tail;
  }

  /** Right after a change: a delivery pass in the background. Errors are logged, never thrown at the caller. */
  nudge(): void {
    if (!this.enabled) return;
    // Outlives the request that made the change: its lines go to the process log, not to that finished invocation.
    (this.options.detach ?? ((work: () => void) => work()))(() => {
      // A pass queued and not yet started claims this change's event anyway; a running one claims it now, even while
      // it waits for a slow POST of another seller.
      if (this.passes > (this.running ? 1 : 0)) return;
      if (this.running) {
        this.again = true;
        this.wake?.();
        return;
      }
      this.queuePass().catch((error: unknown) => this.options.logger.warn('event delivery failed', { error: describeError(error) }));
    });
  }

  private queuePass(): Promise<DeliveryRun> {
    // The running pass claims what is due now (events whose retry time has come), not only after its slow POSTs end.
    this.again = this.running || this.again;
    this.wake?.();
    this.passes += 1;
    const pass = this.tail.then(async () => {
      this.running = true;
      try {
        return await this.runUntilIdle();
      } finally {
        this.running = false;
        this.passes -= 1;
      }
    });
    this.tail = pass.catch(() => undefined);
    return pass;
  }

  private async runUntilIdle(): Promise<DeliveryRun> {
    const total: DeliveryRun = { delivered: 0, retrying: 0, failed: 0 };
    const { sender } = this.options;
    if (sender === undefined) return total;
    do await this.runOnce(sender, total);
    while (this.again);
    return total;
  }

  /**
   * Claims as many due events as there is room for, sends each, and claims again whenever one ends (that seller's
   * next event may be due now), until nothing is due and nothing is in flight. A store failure stops the claims; the
   * POSTs in flight finish and record their outcomes, then the pass rejects with it.
   */
  private async runOnce(sender: EventSender, run: DeliveryRun): Promise<void> {
    const concurrency = Math.max(1, this.options.concurrency ?? DELIVERY_CONCURRENCY);
    const maxPerRun = Math.max(1, this.options.maxPerRun ?? 1000);
    const inFlight = new Set<Promise<void>>();
    let tries = 0;
    let failure: { error: unknown } | undefined;
    for (;;) {
      const room = failure === undefined ? Math.min(concurrency - inFlight.size, maxPerRun - tries) : 0;
      let claimed: EventRecord[] = [];
      if (room > 0) {
        const now = this.options.clock.now();
        // This claim sees everything written before it; a nudge after it sets `again` (and wakes the wait below).
        this.again = false;
        try {
          claimed = await this.options.store.claimDueEvents({ now, leaseUntil: new Date(now.getTime() + DELIVERY_LEASE_MS), limit: room });
        } catch (error) {
          failure ??= { error };
        }
      }
      for (const event of claimed) {
        tries += 1;
        const delivery: Promise<void> = this.deliverOne(sender, event)
          .then((outcome) => {
            run[outcome] += 1;
          })
          .catch((error: unknown) => {
            failure ??= { error };
          })
          .finally(() => inFlight.delete(delivery));
        inFlight.add(delivery);
      }
      // A full claim may have left more due: claim again as soon as there is room.
      if (room > 0 && claimed.length === room) continue;
      if (inFlight.size === 0) break;
      const woken = new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      await Promise.race([...inFlight, woken]);
      this.wake = undefined;
    }
    if (failure !== undefined) throw failure.error;
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
