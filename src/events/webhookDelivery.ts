import axios, { type AxiosInstance } from 'axios';
import { Webhook } from 'standardwebhooks';
import type { Clock, Logger } from '../authorization/ports.js';
import { describeError } from '../authorization/ports.js';
import { outsideInvocation } from '../http/logging.js';
import type { CredentialStore } from '../store/credentialStore.js';
import {
  DELIVERY_LEASE_MS,
  MAX_DELIVERY_ATTEMPTS,
  nextDeliveryAttempt,
  webhookMessageId,
  webhookPayload,
  type EventRecord,
} from './events.js';

/** Where events go: EVENTS_WEBHOOK_URL and EVENTS_WEBHOOK_SECRET (`whsec_` + base64 of 24 to 64 random bytes). */
export interface WebhookTarget {
  url: string;
  secret: string;
}

export interface EventDeliveryOptions {
  store: CredentialStore;
  /** Undefined: events stay in the table (its rows are the interface) and nothing is sent. */
  target: WebhookTarget | undefined;
  clock: Clock;
  logger: Logger;
  /** Per-POST timeout in ms, from sending to the end of the answer (default 10000). */
  timeoutMs?: number;
  /** Events claimed per round trip (default 50). */
  batchSize?: number;
  /** A run stops after this many tries (default 1000), so one timer run stays short; the next goes on. */
  maxPerRun?: number;
  /** The time written into webhook-timestamp: the wall clock, since receivers compare it with theirs (default Date). */
  wallClock?: Clock;
}

export interface DeliveryRun {
  delivered: number;
  retrying: number;
  failed: number;
}

/** Per-POST timeout unless EventDeliveryOptions.timeoutMs says otherwise: the whole request, answer included. */
const DEFAULT_TIMEOUT_MS = 10_000;

/** The User-Agent of every webhook POST, naming the service. */
export const WEBHOOK_USER_AGENT = 'shipica-sp-api-seller-auth/0.1 (events)';

/**
 * Delivers the outbox as Standard Webhooks: POST of the JSON payload with `webhook-id` (`evt_<event_id>`, the same on
 * every retry), `webhook-timestamp` and `webhook-signature` (HMAC-SHA256, the `standardwebhooks` package). In order
 * per seller: only the oldest pending event of a (customer, region) is ever claimed, so the next waits until it is
 * delivered or given up. At least once: an event is marked delivered only after a 2xx, so a lost answer means it is
 * sent again (receivers drop duplicates by webhook-id). A refused try waits DELIVERY_BACKOFF_MS (30 s up to 8 h, 10
 * tries over about 24 h); after the last one the event is `failed`, logged as an error, and the seller's next goes on.
 * Run by the EventDelivery timer every minute and nudged right after a change (`nudge`, never awaited by a page).
 */
export class EventDelivery {
  private readonly http: AxiosInstance;
  private readonly webhook: Webhook | undefined;
  private running: Promise<DeliveryRun> | undefined;
  private again = false;

  constructor(private readonly options: EventDeliveryOptions) {
    this.http = axios.create({
      maxRedirects: 0,
      responseType: 'text',
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      validateStatus: () => true,
      // No proxy from the environment: the receiver is named by EVENTS_WEBHOOK_URL and nothing else.
      proxy: false,
    });
    this.webhook = options.target === undefined ? undefined : new Webhook(options.target.secret);
  }

  get enabled(): boolean {
    return this.options.target !== undefined;
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
    outsideInvocation(() => {
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
    if (this.webhook === undefined || this.options.target === undefined) return run;
    const batchSize = this.options.batchSize ?? 50;
    const maxPerRun = this.options.maxPerRun ?? 1000;
    let tries = 0;
    while (tries < maxPerRun) {
      const now = this.options.clock.now();
      const claimed = await this.options.store.claimDueEvents({ now, leaseUntil: new Date(now.getTime() + DELIVERY_LEASE_MS), limit: batchSize });
      if (claimed.length === 0) break;
      // Different sellers at once; one seller's events one after the other (each claim holds one per seller).
      const outcomes = await Promise.all(claimed.map((event) => this.deliverOne(event)));
      for (const outcome of outcomes) run[outcome] += 1;
      tries += claimed.length;
    }
    return run;
  }

  private async deliverOne(event: EventRecord): Promise<keyof DeliveryRun> {
    const error = await this.post(event);
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
        region: event.region,
        attempts,
        error,
      });
      return 'failed';
    }
    await this.options.store.recordDelivery({ eventId: event.eventId, outcome: 'retry', now, nextAttemptAt: next, error });
    this.options.logger.warn('event delivery refused; will retry', { eventId: event.eventId, attempts, error, nextAttemptAt: next.toISOString() });
    return 'retrying';
  }

  /** Undefined when the receiver answered 2xx; else what went wrong (status or error code, never a body). */
  private async post(event: EventRecord): Promise<string | undefined> {
    if (this.webhook === undefined || this.options.target === undefined) return 'no webhook configured';
    const body = JSON.stringify(webhookPayload(event));
    const id = webhookMessageId(event.eventId);
    const sentAt = (this.options.wallClock ?? { now: () => new Date() }).now();
    try {
      const response = await this.http.post(this.options.target.url, body, {
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': WEBHOOK_USER_AGENT,
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
          'webhook-signature': this.webhook.sign(id, sentAt, body),
        },
        // axios's timeout is the socket's idle time: a receiver sending a byte now and then would never reach it. This
        // bounds the whole POST, so one slow receiver cannot hold the run (and the seller's queue) past timeoutMs.
        signal: AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
      return response.status >= 200 && response.status < 300 ? undefined : `HTTP ${response.status}`;
    } catch (error) {
      // axios errors carry the request (the signature): keep only the code.
      // The deadline's abort reads as axios's own timeout code, as the idle timeout does.
      if (axios.isCancel(error)) return 'request failed (ECONNABORTED)';
      return axios.isAxiosError(error) ? `request failed (${error.code ?? 'unknown'})` : 'request failed';
    }
  }
}

/** A secret in Standard Webhooks' form: `whsec_` and the base64 of 24 to 64 bytes. */
export function isWebhookSecret(value: string): boolean {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(value);
  if (match?.[1] === undefined) return false;
  const bytes = Buffer.from(match[1], 'base64').length;
  return bytes >= 24 && bytes <= 64;
}
