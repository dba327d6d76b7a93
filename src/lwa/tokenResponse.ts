import { z } from 'zod';
import { LIMITS } from '../credentials/index.js';
import { maxSealedPlaintextLength } from '../crypto/tokenCipher.js';
import type { LwaFailure, TokenGrant } from './lwaResult.js';

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

/** An answer of the token endpoint, as it came: the status, the body's text and the headers that matter. */
export interface TokenHttpResponse {
  status: number;
  body: string;
  retryAfter?: string | undefined;
  /** The response's Date header: an HTTP-date Retry-After is measured against it. */
  date?: string | undefined;
}

/** What one request came to: a grant (the refresh token only when LWA sent one), or a failure and whether to retry. */
export type TokenAnswer =
  | { ok: true; value: Omit<TokenGrant, 'refreshToken'> & { refreshToken?: string } }
  | { ok: false; failure: Omit<LwaFailure, 'attempts'>; retryable: boolean; retryAfterMs?: number };

/**
 * Judges an answer of the token endpoint. 200 with a valid token body is the grant; a 200 that is not one is
 * `unavailable` and not retried (the code may be spent). 429 and 5xx are `unavailable` and retryable, with LWA's
 * Retry-After. Otherwise Amazon's error decides: invalid_grant; 401, invalid_client or unauthorized_client; any other
 * 4xx is client_error; anything else (a redirect, say) unavailable. Amazon's texts are scrubbed of `secrets`.
 */
export function classifyTokenResponse(response: TokenHttpResponse, secrets: readonly string[], now: Date): TokenAnswer {
  const { status } = response;
  const json = parseJson(response.body);
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
    const retryAfterMs = parseRetryAfter(response.retryAfter, response.date, now);
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

/**
 * A request that got no answer (`code`: axios's error code). Retried unless it may have reached LWA with a
 * single-use code (`maybeSpent`), which is then never sent again.
 */
export function classifyTransportFailure(code: string | undefined, maybeSpent: boolean): Extract<TokenAnswer, { ok: false }> {
  const timedOut = code === 'ECONNABORTED' || code === 'ETIMEDOUT' || code === 'ERR_CANCELED';
  const description = timedOut ? 'timed out' : `network error${code ? ` (${code})` : ''}`;
  if (!maybeSpent) return { ok: false, failure: unavailable(description), retryable: true };
  return { ok: false, failure: unavailable(`${description} after connecting; not re-sent, the code may be spent`), retryable: false };
}

/**
 * An answer refused for its size (outbound/replyLimit.ts): unavailable, and not retried, as a malformed 200 is not:
 * whatever answered will answer the same, and for a code exchange the code may be spent.
 */
export function classifyOversizeAnswer(description: string): Extract<TokenAnswer, { ok: false }> {
  return { ok: false, failure: unavailable(description), retryable: false };
}

export function unavailable(description: string): Omit<LwaFailure, 'attempts'> {
  return { kind: 'unavailable', status: undefined, error: undefined, description };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
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

/** Amazon's text is stored and shown to ops: strip control characters and anything we sent, and bound its length. */
function scrub(value: string, secrets: readonly string[]): string {
  let clean = value.replace(/[\u0000-\u001f\u007f]/g, ' ');
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    // As sent, and as an echo of the form body might spell it.
    const spellings = new Set([secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)]);
    for (const spelling of spellings) clean = clean.split(spelling).join('[redacted]');
  }
  return clean.slice(0, MAX_DESCRIPTION);
}
