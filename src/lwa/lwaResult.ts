/**
 * What the Login with Amazon token endpoint came to, as values: a grant, or a failure of a closed kind that every
 * caller must handle. Nothing LWA or the network does is thrown.
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
