import axios, { type AxiosInstance } from 'axios';
import { Webhook } from 'standardwebhooks';
import type { Clock, EventRecord, EventType } from '../credentials/index.js';
import { BOUNDED_REPLY, isReplyTooLarge, REPLY_TOO_LARGE } from '../outbound/replyLimit.js';

/** Where events go: EVENTS_WEBHOOK_URL and EVENTS_WEBHOOK_SECRET (`whsec_` + base64 of 24 to 64 random bytes). */
export interface WebhookTarget {
  url: string;
  secret: string;
}

export interface WebhookSenderOptions {
  /** The whole POST, from sending to the end of the answer, in ms (default 10000). */
  timeoutMs?: number;
  /** The time written into webhook-timestamp: the wall clock, since receivers compare it with theirs (default Date). */
  wallClock?: Clock;
}

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
      scope: event.scope,
      region: event.region,
      selling_partner_id: event.sellingPartnerId,
      ...specific,
    },
  };
}

/** The Standard Webhooks message id of an event: stable across retries, so a receiver can drop duplicates. */
export const webhookMessageId = (eventId: number): string => `evt_${eventId}`;

/** Per-POST timeout unless WebhookSenderOptions.timeoutMs says otherwise: the whole request, answer included. */
const DEFAULT_TIMEOUT_MS = 10_000;

/** The User-Agent of every webhook POST, naming the service. */
export const WEBHOOK_USER_AGENT = 'shipica-sp-api-seller-auth/0.1 (events)';

/**
 * One event as a Standard Webhooks POST: the JSON payload with `webhook-id` (`evt_<event_id>`, the same on every
 * retry), `webhook-timestamp` and `webhook-signature` (HMAC-SHA256, the `standardwebhooks` package). A redirect is
 * not followed; only a 2xx counts as delivered.
 */
export class WebhookSender {
  private readonly http: AxiosInstance;
  private readonly webhook: Webhook;

  constructor(
    private readonly target: WebhookTarget,
    private readonly options: WebhookSenderOptions = {},
  ) {
    this.http = axios.create({
      maxRedirects: 0,
      responseType: 'text',
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      validateStatus: () => true,
      // No proxy from the environment: the receiver is named by EVENTS_WEBHOOK_URL and nothing else.
      proxy: false,
      // Only the status matters; an answer past MAX_REPLY_BYTES is cut off as it arrives, a failed try.
      ...BOUNDED_REPLY,
    });
    this.webhook = new Webhook(target.secret);
  }

  /** Undefined when the receiver answered 2xx; else what went wrong (status or error code, never a body). */
  async send(event: EventRecord): Promise<string | undefined> {
    const body = JSON.stringify(webhookPayload(event));
    const id = webhookMessageId(event.eventId);
    const sentAt = (this.options.wallClock ?? { now: () => new Date() }).now();
    try {
      const response = await this.http.post(this.target.url, body, {
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
      // Logged by the delivery as a refused try ("event delivery refused; will retry"), never with the body.
      if (isReplyTooLarge(error)) return REPLY_TOO_LARGE;
      return axios.isAxiosError(error) ? `request failed (${error.code ?? 'unknown'})` : 'request failed';
    }
  }
}
