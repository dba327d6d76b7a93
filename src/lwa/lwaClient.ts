import axios, { type AxiosInstance } from 'axios';
import { z } from 'zod';
import { delay, type Clock, type Logger } from '../authorization/ports.js';

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
  /** Network error, timeout, 5xx, 429 (after bounded retries), or a 200 whose body is not a token response. */
  | 'unavailable';

export interface LwaFailure {
  kind: LwaFailureKind;
  status: number | undefined;
  /** Amazon's `error` and `error_description`, when it sent JSON; scrubbed of anything we sent. */
  error: string | undefined;
  description: string | undefined;
  attempts: number;
  /** From LWA's Retry-After header on 429/503, when it sent one. */
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
   * A Retry-After up to this long is waited out and retried; a longer one ends the attempt at once, so a caller
   * waiting on us is not held for it and gets LWA's Retry-After instead. Default 2 s.
   */
  maxRetryAfterMs?: number;
}

export interface LwaClientOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** The secret before the last rotation: Amazon keeps it valid for about 7 days after a new one is issued. */
  previousClientSecret?: string | undefined;
  timeoutMs: number;
  retry?: RetryPolicy;
  clock: Clock;
  logger: Logger;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 5_000 };

const tokenResponse = z.object({
  access_token: z.string().min(1).max(4096),
  token_type: z.string().regex(/^bearer$/i),
  expires_in: z.number().int().positive(),
  refresh_token: z.string().min(1).max(4096).optional(),
});

const errorResponse = z.object({
  error: z.string().max(200),
  error_description: z.string().optional(),
});

const MAX_DESCRIPTION = 500;
/** invalid_client is app-wide: every request would log it, so it is logged at most once a minute. */
const INCIDENT_LOG_INTERVAL_MS = 60_000;

export class LwaClient {
  private readonly http: AxiosInstance;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  /** The secret that last worked; tried first for the life of the process. */
  private preferredSecret: string;
  private lastIncidentLogAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: LwaClientOptions) {
    this.preferredSecret = options.clientSecret;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.sleep = options.sleep ?? delay;
    this.random = options.random ?? Math.random;
    this.http = axios.create({
      timeout: options.timeoutMs,
      maxRedirects: 0,
      // Bodies are parsed and validated here, never by axios; every status is an answer to classify.
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded;charset=UTF-8', Accept: 'application/json' },
    });
  }

  /** Authorization code → refresh token. `deadline` bounds retries inside the code's 5-minute life. */
  async exchangeCode(input: { code: string; redirectUri: string; deadline: Date }): Promise<LwaResult<TokenGrant>> {
    const grant = { grant_type: 'authorization_code', code: input.code, redirect_uri: input.redirectUri };
    const result = await this.post(grant, input.deadline, [input.code]);
    if (!result.ok) return result;
    if (result.value.refreshToken === undefined) {
      return { ok: false, failure: { ...unavailable('token response has no refresh_token'), attempts: result.attempts } };
    }
    return { ok: true, value: { ...result.value, refreshToken: result.value.refreshToken } };
  }

  /** Refresh token → 1-hour access token. */
  async refreshAccessToken(input: { refreshToken: string; deadline: Date }): Promise<LwaResult<AccessTokenGrant>> {
    const grant = { grant_type: 'refresh_token', refresh_token: input.refreshToken };
    const result = await this.post(grant, input.deadline, [input.refreshToken]);
    if (!result.ok) return result;
    const { accessToken, tokenType, expiresIn } = result.value;
    return { ok: true, value: { accessToken, tokenType, expiresIn } };
  }

  /**
   * Sends the grant with the preferred client secret; when LWA answers invalid_client and another secret is
   * configured (rotation: LWA_CLIENT_SECRET_PREVIOUS), tries that one and remembers whichever works.
   */
  private async post(grant: Record<string, string>, deadline: Date, sentSecrets: string[]): Promise<Posted> {
    const candidates = [this.options.clientSecret, this.options.previousClientSecret].filter((s): s is string => s !== undefined && s !== '');
    const order = [this.preferredSecret, ...candidates.filter((s) => s !== this.preferredSecret)];
    const secrets = [...sentSecrets, ...candidates];
    let result: Posted | undefined;
    for (const clientSecret of order) {
      const body = new URLSearchParams({ ...grant, client_id: this.options.clientId, client_secret: clientSecret });
      result = await this.postWithRetry(body, deadline, secrets);
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

  private async postWithRetry(body: URLSearchParams, deadline: Date, secrets: string[]): Promise<Posted> {
    for (let attempt = 1; ; attempt++) {
      const answer = await this.once(body, secrets);
      if (answer.ok) return { ...answer, attempts: attempt };
      const failure: LwaFailure = { ...answer.failure, attempts: attempt };
      if (!answer.retryable || attempt >= this.retry.maxAttempts) return { ok: false, failure };

      const retryAfterMs = (answer.failure.retryAfterSeconds ?? 0) * 1000;
      if (retryAfterMs > (this.retry.maxRetryAfterMs ?? 2_000)) return { ok: false, failure };
      const backoff = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
      const delay = Math.max(retryAfterMs, Math.round(backoff * (0.5 + this.random() / 2)));
      const finishBy = this.options.clock.now().getTime() + delay + this.options.timeoutMs;
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

  private async once(
    body: URLSearchParams,
    secrets: string[],
  ): Promise<
    | { ok: true; value: Omit<TokenGrant, 'refreshToken'> & { refreshToken?: string } }
    | { ok: false; failure: Omit<LwaFailure, 'attempts'>; retryable: boolean }
  > {
    let status: number;
    let text: string;
    let retryAfter: string | undefined;
    try {
      const response = await this.http.post<string>(this.options.tokenUrl, body.toString());
      status = response.status;
      text = typeof response.data === 'string' ? response.data : '';
      const header: unknown = response.headers['retry-after'];
      retryAfter = typeof header === 'string' ? header : undefined;
    } catch (error) {
      // axios errors carry the request config (and so the form body with secrets): keep only the code.
      const code = axios.isAxiosError(error) ? error.code : undefined;
      const description = code === 'ECONNABORTED' || code === 'ETIMEDOUT' ? 'timed out' : `network error${code ? ` (${code})` : ''}`;
      return { ok: false, failure: unavailable(description), retryable: true };
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
      return { ok: false, failure: { kind: 'unavailable', ...failure, ...retryAfterSeconds(retryAfter) }, retryable: true };
    }
    if (error === 'invalid_grant') return { ok: false, failure: { kind: 'invalid_grant', ...failure }, retryable: false };
    if (status === 401 || error === 'invalid_client' || error === 'unauthorized_client') {
      return { ok: false, failure: { kind: 'invalid_client', ...failure }, retryable: false };
    }
    if (status >= 400 && status < 500) return { ok: false, failure: { kind: 'client_error', ...failure }, retryable: false };
    return { ok: false, failure: { kind: 'unavailable', ...failure, description: description ?? `unexpected HTTP ${status}` }, retryable: false };
  }
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

function retryAfterSeconds(header: string | undefined): { retryAfterSeconds?: number } {
  if (header === undefined || !/^\d{1,4}$/.test(header.trim())) return {};
  return { retryAfterSeconds: Number(header.trim()) };
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
