import axios, { type AxiosInstance, type AxiosRequestConfig } from 'axios';
import { delay, type Clock, type IncidentSignal, type Logger } from '../credentials/index.js';
import type { AccessTokenGrant, LwaFailure, LwaResult, TokenGrant } from './lwaResult.js';
import { BOUNDED_REPLY, isReplyTooLarge, REPLY_TOO_LARGE } from '../outbound/replyLimit.js';
import { classifyOversizeAnswer, classifyTokenResponse, classifyTransportFailure, unavailable, type TokenAnswer, type TokenHttpResponse } from './tokenResponse.js';
import { watchedConnection } from './watchedConnection.js';


/**
 * Login with Amazon token endpoint: the code exchange (and the refresh grant). This file sends the requests and
 * retries them; classifyTokenResponse (tokenResponse.ts) judges each answer. Nothing here throws for anything LWA or
 * the network does.
 */

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
  /**
   * Told when LWA refuses Shipica's own client credentials with every configured secret (an app-wide incident, never
   * a seller's), and when a grant succeeds again.
   */
  incidents: IncidentSignal;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 5_000 };
export const DEFAULT_EXCHANGE_TIMEOUT_MS = 30_000;

/** How one kind of grant is sent and retried. */
interface GrantPolicy {
  timeoutMs: number;
  /**
   * The code exchange: the code is single-use, so a request is re-sent only when it certainly did not reach LWA
   * (no connection was made) or LWA answered 5xx/429 (it said no, so the code is unspent).
   */
  singleUse: boolean;
}

export class LwaClient {
  private readonly http: AxiosInstance;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly exchangePolicy: GrantPolicy;
  private readonly refreshPolicy: GrantPolicy;
  /** The secret that last worked; tried first for the life of the process. */
  private preferredSecret: string;

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
      // An answer past MAX_REPLY_BYTES is cut off as it arrives (chunked or not), never buffered whole.
      ...BOUNDED_REPLY,
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
      if (result.ok) {
        this.preferredSecret = clientSecret;
        // Not awaited: nothing between LWA's answer and the caller's own write (a fresh refresh token waits for none).
        void this.options.incidents.resolved('lwa_client_rejected');
        return result;
      }
      if (result.failure.kind !== 'invalid_client') return result;
    }
    if (result === undefined) throw new Error('no LWA client secret configured');
    if (!result.ok) await this.options.incidents.report('lwa_client_rejected', amazonSaid(result.failure, order.length));
    return result;
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

  /** Sends one request and has its answer classified; the request's own failures are classified too. */
  private async once(body: URLSearchParams, secrets: string[], policy: GrantPolicy): Promise<TokenAnswer> {
    let response: TokenHttpResponse;
    // axios's timeout is the socket's idle time (a server trickling a byte at a time never reaches it); the signal
    // bounds the whole request, so a refresh stays inside its lease and a code exchange inside its window.
    const config: AxiosRequestConfig = { timeout: policy.timeoutMs, signal: AbortSignal.timeout(policy.timeoutMs) };
    // Single-use grants go over a connection of their own, watched, so a failure can tell whether it was made.
    const wire = policy.singleUse ? watchedConnection(this.options.tokenUrl) : undefined;
    if (wire !== undefined) Object.assign(config, wire.agents);
    try {
      const answer = await this.http.post<string>(this.options.tokenUrl, body.toString(), config);
      response = {
        status: answer.status,
        body: typeof answer.data === 'string' ? answer.data : '',
        retryAfter: headerText(answer.headers['retry-after']),
        date: headerText(answer.headers['date']),
      };
    } catch (error) {
      if (isReplyTooLarge(error)) {
        // No token response is that large: LWA (or what answers in its place) is not conforming. Never its body.
        this.options.logger.warn(`LWA token answer refused: ${REPLY_TOO_LARGE}`, { grant: policy.singleUse ? 'authorization_code' : 'refresh_token' });
        return classifyOversizeAnswer(REPLY_TOO_LARGE);
      }
      // axios errors carry the request config (and so the form body with secrets): keep only the code.
      const code = axios.isAxiosError(error) ? error.code : undefined;
      const maybeSpent = wire !== undefined && !wire.neverConnected();
      if (maybeSpent) {
        this.options.logger.warn('LWA code exchange failed after the connection was made: the code is not sent again (it may be spent)', {
          error: code ?? null,
        });
      }
      return classifyTransportFailure(code, maybeSpent);
    } finally {
      wire?.close();
    }
    return classifyTokenResponse(response, secrets, this.options.clock.now());
  }
}

function headerText(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

type Posted =
  | { ok: true; value: Omit<TokenGrant, 'refreshToken'> & { refreshToken?: string }; attempts: number }
  | { ok: false; failure: LwaFailure };

/** What LWA said of a refused client (its error code and description, scrubbed of what we sent), for the incident. */
function amazonSaid(failure: LwaFailure, secretsTried: number): string {
  const said = [failure.error, failure.description].filter((part) => part !== undefined && part !== '').join(': ');
  return `${said === '' ? `HTTP ${failure.status ?? 'error'}` : said} (${secretsTried} client secret${secretsTried === 1 ? '' : 's'} tried)`;
}
