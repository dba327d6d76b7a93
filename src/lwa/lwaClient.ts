import { Agent as HttpAgent, type ClientRequestArgs } from 'node:http';
import { Agent as HttpsAgent, type RequestOptions as HttpsRequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import axios, { type AxiosInstance, type AxiosRequestConfig } from 'axios';
import { z } from 'zod';
import { delay, LIMITS, type Clock, type Logger } from '../credentials/index.js';
import { maxSealedPlaintextLength } from '../crypto/tokenCipher.js';

/**
 * Login with Amazon token endpoint: the code exchange (and the refresh grant). Every answer is validated with zod
 * and comes back as a typed result; nothing here throws for anything LWA or the network does.
 */

export type LwaFailureKind =
  /** 400 invalid_grant: the code (or refresh token) is expired, used, revoked or issued for another client. Never retried. */
  | 'invalid_grant'
  /** 401 invalid_client / unauthorized_client: our client id or secret was refused. App-wide, not the seller's fault. */
  | 'invalid_client'
  /** Any other 4xx: a request or configuration error on our side. */
  | 'client_error'
  /**
   * Network error, timeout, 5xx, 429 (after bounded retries), or a 200 whose body is not a token response. For the
   * code exchange, a request that may have reached LWA (a timeout, a connection lost after it was made) is not
   * re-sent, so this can come after a single attempt.
   */
  | 'unavailable';

export interface LwaFailure {
  kind: LwaFailureKind;
  status: number | undefined;
  /** Amazon's `error` and `error_description`, when it sent JSON; scrubbed of anything we sent. */
  error: string | undefined;
  description: string | undefined;
  attempts: number;
  /** From LWA's Retry-After header on 429/5xx (seconds, or an HTTP-date turned into seconds, rounded up). */
  retryAfterSeconds?: number;
}

export interface TokenGrant {
  accessToken: string;
  tokenType: string;
  expiresIn: number;
  refreshToken: string;
}

export type AccessTokenGrant = Omit<TokenGrant, 'refreshToken'>;

export type LwaResult<T> = { ok: true; value: T } | { ok: false; failure: LwaFailure };

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /**
   * Refresh grant only: a Retry-After up to this long is waited out and retried; a longer one ends the attempt at
   * once, so a caller waiting on us is not held for it and gets LWA's Retry-After instead. Default 2 s. The code
   * exchange waits out any Retry-After that still lets the retry finish before its deadline: a code not exchanged
   * within its 5 minutes is lost, so waiting is the only way to keep the authorization.
   */
  maxRetryAfterMs?: number;
}

export interface LwaClientOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** The secret before the last rotation: Amazon keeps it valid for about 7 days after a new one is issued. */
  previousClientSecret?: string | undefined;
  /** Per-request timeout of the refresh grant, ms (LWA_TIMEOUT_MS). */
  timeoutMs: number;
  /** Per-request timeout of the code exchange, ms (LWA_EXCHANGE_TIMEOUT_MS); default 30 s. */
  exchangeTimeoutMs?: number;
  retry?: RetryPolicy;
  clock: Clock;
  logger: Logger;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 5_000 };
export const DEFAULT_EXCHANGE_TIMEOUT_MS = 30_000;

/**
 * The longest refresh token we accept: the longest whose envelope fits the store's column, so a token LWA issues
 * is either refused here (visibly, as a malformed response) or stored, never accepted and then lost on the write.
 */
export const MAX_REFRESH_TOKEN_LENGTH = maxSealedPlaintextLength(LIMITS.encryptedRefreshToken);

/** Visible ASCII: one character is one byte in the envelope, and nothing that cannot go into an HTTP header. */
const TOKEN_CHARACTERS = /^[\x21-\x7e]+$/;

const tokenResponse = z.object({
  access_token: z.string().min(1).max(4096).regex(TOKEN_CHARACTERS),
  token_type: z.string().regex(/^bearer$/i),
  // A numeric string ("3600") means the same; refusing it would throw away the refresh token that came with it.
  expires_in: z.union([z.number().int().positive(), z.string().regex(/^[1-9]\d{0,9}$/).transform(Number)]),
  refresh_token: z.string().min(1).max(MAX_REFRESH_TOKEN_LENGTH).regex(TOKEN_CHARACTERS).optional(),
});

const errorResponse = z.object({
  error: z.string().max(200),
  error_description: z.string().optional(),
});

const MAX_DESCRIPTION = 500;
/** invalid_client is app-wide: every request would log it, so it is logged at most once a minute. */
const INCIDENT_LOG_INTERVAL_MS = 60_000;

/** How one kind of grant is sent and retried. */
interface GrantPolicy {
  timeoutMs: number;
  /**
   * The code exchange: the code is single-use, so a request is re-sent only when it certainly did not reach LWA
   * (no connection was made) or LWA answered 5xx/429 (it said no, so the code is unspent).
   */
  singleUse: boolean;
}

/** What one request came to. */
type Answer =
  | { ok: true; value: Omit<TokenGrant, 'refreshToken'> & { refreshToken?: string } }
  | { ok: false; failure: Omit<LwaFailure, 'attempts'>; retryable: boolean; retryAfterMs?: number };

export class LwaClient {
  private readonly http: AxiosInstance;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly exchangePolicy: GrantPolicy;
  private readonly refreshPolicy: GrantPolicy;
  /** The secret that last worked; tried first for the life of the process. */
  private preferredSecret: string;
  private lastIncidentLogAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: LwaClientOptions) {
    this.preferredSecret = options.clientSecret;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.sleep = options.sleep ?? delay;
    this.random = options.random ?? Math.random;
    this.exchangePolicy = { timeoutMs: options.exchangeTimeoutMs ?? DEFAULT_EXCHANGE_TIMEOUT_MS, singleUse: true };
    this.refreshPolicy = { timeoutMs: options.timeoutMs, singleUse: false };
    this.http = axios.create({
      maxRedirects: 0,
      // Bodies are parsed and validated here, never by axios; every status is an answer to classify.
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded;charset=UTF-8', Accept: 'application/json' },
    });
  }

  /**
   * Authorization code → refresh token. `deadline` bounds retries (and Retry-After waits) inside the code's
   * 5-minute life. The code is sent again only when the earlier request certainly did not reach LWA, or LWA
   * answered 5xx/429; a timeout or a connection lost after it was made ends as `unavailable` after that attempt.
   */
  async exchangeCode(input: { code: string; redirectUri: string; deadline: Date }): Promise<LwaResult<TokenGrant>> {
    const grant = { grant_type: 'authorization_code', code: input.code, redirect_uri: input.redirectUri };
    const result = await this.post(grant, input.deadline, [input.code], this.exchangePolicy);
    if (!result.ok) return result;
    if (result.value.refreshToken === undefined) {
      return { ok: false, failure: { ...unavailable('token response has no refresh_token'), attempts: result.attempts } };
    }
    return { ok: true, value: { ...result.value, refreshToken: result.value.refreshToken } };
  }

  /** Refresh token → 1-hour access token. A refresh token is reusable, so timeouts and lost connections are retried. */
  async refreshAccessToken(input: { refreshToken: string; deadline: Date }): Promise<LwaResult<AccessTokenGrant>> {
    const grant = { grant_type: 'refresh_token', refresh_token: input.refreshToken };
    const result = await this.post(grant, input.deadline, [input.refreshToken], this.refreshPolicy);
    if (!result.ok) return result;
    const { accessToken, tokenType, expiresIn } = result.value;
    return { ok: true, value: { accessToken, tokenType, expiresIn } };
  }

  /**
   * Sends the grant with the preferred client secret; when LWA answers invalid_client and another secret is
   * configured (rotation: LWA_CLIENT_SECRET_PREVIOUS), tries that one and remembers whichever works.
   */
  private async post(grant: Record<string, string>, deadline: Date, sentSecrets: string[], policy: GrantPolicy): Promise<Posted> {
    const candidates = [this.options.clientSecret, this.options.previousClientSecret].filter((s): s is string => s !== undefined && s !== '');
    const order = [this.preferredSecret, ...candidates.filter((s) => s !== this.preferredSecret)];
    const secrets = [...sentSecrets, ...candidates];
    let result: Posted | undefined;
    for (const clientSecret of order) {
      const body = new URLSearchParams({ ...grant, client_id: this.options.clientId, client_secret: clientSecret });
      result = await this.postWithRetry(body, deadline, secrets, policy);
      if (result.ok || result.failure.kind !== 'invalid_client') {
        if (result.ok) this.preferredSecret = clientSecret;
        return result;
      }
    }
    if (result === undefined) throw new Error('no LWA client secret configured');
    this.reportRejectedClient(result, order.length);
    return result;
  }

  private reportRejectedClient(result: Posted, secretsTried: number): void {
    const now = this.options.clock.now().getTime();
    if (result.ok || now - this.lastIncidentLogAt < INCIDENT_LOG_INTERVAL_MS) return;
    this.lastIncidentLogAt = now;
    this.options.logger.error(
      'LWA rejected Shipica\'s client credentials (invalid_client): the LWA client secret was most likely rotated or has expired. Set LWA_CLIENT_SECRET to the current secret (and LWA_CLIENT_SECRET_PREVIOUS to the old one during rotation).',
      { status: result.failure.status ?? null, error: result.failure.error ?? null, secretsTried },
    );
  }

  private async postWithRetry(body: URLSearchParams, deadline: Date, secrets: string[], policy: GrantPolicy): Promise<Posted> {
    for (let attempt = 1; ; attempt++) {
      const answer = await this.once(body, secrets, policy);
      if (answer.ok) return { ...answer, attempts: attempt };
      const failure: LwaFailure = { ...answer.failure, attempts: attempt };
      if (!answer.retryable || attempt >= this.retry.maxAttempts) return { ok: false, failure };

      const retryAfterMs = answer.retryAfterMs ?? 0;
      if (!policy.singleUse && retryAfterMs > (this.retry.maxRetryAfterMs ?? 2_000)) return { ok: false, failure };
      const backoff = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
      const delay = Math.max(retryAfterMs, Math.round(backoff * (0.5 + this.random() / 2)));
      // The retry must be able to finish (time out, at worst) before the deadline.
      const finishBy = this.options.clock.now().getTime() + delay + policy.timeoutMs;
      if (finishBy > deadline.getTime()) return { ok: false, failure };
      this.options.logger.warn('LWA token request failed; retrying', {
        attempt,
        status: failure.status ?? null,
        error: failure.error ?? null,
        delayMs: delay,
      });
      await this.sleep(delay);
    }
  }

  private async once(body: URLSearchParams, secrets: string[], policy: GrantPolicy): Promise<Answer> {
    let status: number;
    let text: string;
    let retryAfter: string | undefined;
    let serverDate: string | undefined;
    // axios's timeout is the socket's idle time (a server trickling a byte at a time never reaches it); the signal
    // bounds the whole request, so a refresh stays inside its lease and a code exchange inside its window.
    const config: AxiosRequestConfig = { timeout: policy.timeoutMs, signal: AbortSignal.timeout(policy.timeoutMs) };
    // Single-use grants go over a connection of their own, watched, so a failure can tell whether it was made.
    const wire = policy.singleUse ? watchedConnection(this.options.tokenUrl) : undefined;
    if (wire !== undefined) Object.assign(config, wire.agents);
    try {
      const response = await this.http.post<string>(this.options.tokenUrl, body.toString(), config);
      status = response.status;
      text = typeof response.data === 'string' ? response.data : '';
      retryAfter = headerText(response.headers['retry-after']);
      serverDate = headerText(response.headers['date']);
    } catch (error) {
      // axios errors carry the request config (and so the form body with secrets): keep only the code.
      const code = axios.isAxiosError(error) ? error.code : undefined;
      const timedOut = code === 'ECONNABORTED' || code === 'ETIMEDOUT' || code === 'ERR_CANCELED';
      const description = timedOut ? 'timed out' : `network error${code ? ` (${code})` : ''}`;
      if (wire === undefined || wire.neverConnected()) return { ok: false, failure: unavailable(description), retryable: true };
      this.options.logger.warn('LWA code exchange failed after the connection was made: the code is not sent again (it may be spent)', {
        error: code ?? null,
      });
      return { ok: false, failure: unavailable(`${description} after connecting; not re-sent, the code may be spent`), retryable: false };
    } finally {
      wire?.close();
    }

    const json = parseJson(text);
    if (status === 200) {
      const parsed = tokenResponse.safeParse(json);
      if (!parsed.success) return { ok: false, failure: unavailable('malformed token response'), retryable: false };
      const { access_token, token_type, expires_in, refresh_token } = parsed.data;
      return {
        ok: true,
        value: {
          accessToken: access_token,
          tokenType: token_type.toLowerCase(),
          expiresIn: expires_in,
          ...(refresh_token === undefined ? {} : { refreshToken: refresh_token }),
        },
      };
    }

    const amazon = errorResponse.safeParse(json);
    const error = amazon.success ? scrub(amazon.data.error, secrets) : undefined;
    const description = amazon.success && amazon.data.error_description !== undefined ? scrub(amazon.data.error_description, secrets) : undefined;
    const failure = { status, error, description };
    if (status === 429 || status >= 500) {
      const retryAfterMs = parseRetryAfter(retryAfter, serverDate, this.options.clock.now());
      return {
        ok: false,
        failure: { kind: 'unavailable', ...failure, ...(retryAfterMs === undefined ? {} : { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) }) },
        retryable: true,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      };
    }
    if (error === 'invalid_grant') return { ok: false, failure: { kind: 'invalid_grant', ...failure }, retryable: false };
    if (status === 401 || error === 'invalid_client' || error === 'unauthorized_client') {
      return { ok: false, failure: { kind: 'invalid_client', ...failure }, retryable: false };
    }
    if (status >= 400 && status < 500) return { ok: false, failure: { kind: 'client_error', ...failure }, retryable: false };
    return { ok: false, failure: { kind: 'unavailable', ...failure, description: description ?? `unexpected HTTP ${status}` }, retryable: false };
  }
}

/**
 * A fresh connection for one request, watched from its creation: `neverConnected()` is true only when our agent
 * opened a socket and it never became usable (TCP connected; for https, the TLS handshake finished). Before that
 * point not one byte of the request has left this process: Node holds writes until the socket connects, and TLS
 * carries no application data before the handshake completes (Node sends no 0-RTT data). So connection refused, a
 * DNS failure, a TLS failure, even a connect-phase timeout, certainly did not reach LWA. From that point on, the
 * request may have been delivered, whatever the error code says (ECONNRESET, for one, comes both ways), so it
 * counts as sent. Error codes alone cannot draw this line; the socket's own events can. If our agent is not used
 * at all (a proxy agent from the environment, an error before any socket), nothing is known and it counts as sent.
 * No keep-alive: a pooled socket may have been closed by the server, and a reused one is always "connected".
 */
function watchedConnection(tokenUrl: string): { agents: Pick<AxiosRequestConfig, 'httpAgent' | 'httpsAgent'>; neverConnected(): boolean; close(): void } {
  let opened = false;
  let connected = false;
  const watch = (socket: Duplex | null | undefined, ready: 'connect' | 'secureConnect'): void => {
    if (socket === null || socket === undefined) return;
    opened = true;
    socket.once(ready, () => {
      connected = true;
    });
  };
  let agent: HttpAgent;
  if (new URL(tokenUrl).protocol === 'https:') {
    agent = new (class extends HttpsAgent {
      override createConnection(options: HttpsRequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
        const socket = super.createConnection(options, callback);
        watch(socket, socket instanceof TLSSocket ? 'secureConnect' : 'connect');
        return socket;
      }
    })({ keepAlive: false, maxSockets: 1 });
  } else {
    agent = new (class extends HttpAgent {
      override createConnection(options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
        const socket = super.createConnection(options, callback);
        watch(socket, 'connect');
        return socket;
      }
    })({ keepAlive: false, maxSockets: 1 });
  }
  return {
    agents: agent instanceof HttpsAgent ? { httpsAgent: agent } : { httpAgent: agent },
    neverConnected: () => opened && !connected,
    close: () => agent.destroy(),
  };
}

function unavailable(description: string): Omit<LwaFailure, 'attempts'> {
  return { kind: 'unavailable', status: undefined, error: undefined, description };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function headerText(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * Retry-After in ms from now: delta-seconds, or an HTTP-date (IMF-fixdate, what servers send) measured against the
 * response's own Date header when it has one (both are the server's clock, so clock skew cancels out), else
 * against ours. A date in the past means now (0). Anything else: undefined.
 */
export function parseRetryAfter(header: string | undefined, dateHeader: string | undefined, now: Date): number | undefined {
  const value = header?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d{1,9}$/.test(value)) return Number(value) * 1000;
  const at = httpDate(value);
  if (at === undefined) return undefined;
  return Math.max(0, at - (httpDate(dateHeader?.trim()) ?? now.getTime()));
}

function httpDate(value: string | undefined): number | undefined {
  if (value === undefined || !IMF_FIXDATE.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

type Posted =
  | { ok: true; value: Omit<TokenGrant, 'refreshToken'> & { refreshToken?: string }; attempts: number }
  | { ok: false; failure: LwaFailure };

/** Amazon's text is stored and shown to ops: strip control characters and anything we sent, and bound its length. */
function scrub(value: string, secrets: string[]): string {
  let clean = value.replace(/[\u0000-\u001f\u007f]/g, ' ');
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    // As sent, and as an echo of the form body might spell it.
    const spellings = new Set([secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)]);
    for (const spelling of spellings) clean = clean.split(spelling).join('[redacted]');
  }
  return clean.slice(0, MAX_DESCRIPTION);
}
