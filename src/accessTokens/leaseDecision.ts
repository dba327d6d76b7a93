import type { AccessToken, SharedAccessToken } from '../credentials/index.js';

/** A shared token with less than this left is refreshed ahead by the first instance to see it (under the lease). */
export const REFRESH_AHEAD_MS = 5 * 60_000;
/** A forced refresh within this of the last refresh of the same generation is served that token (issue 10). */
export const FORCED_REFRESH_REUSE_MS = 60_000;

/** What one read of the shared row tells the decision. */
export interface LeaseSource<Token extends Pick<AccessToken, 'expiresAt'>> {
  /**
   * The shared token, only when it belongs to the credential's current generation, is more than REFRESH_MARGIN_MS
   * from expiry and decrypts; undefined otherwise (including no shared row).
   */
  current: Token | undefined;
  /** The shared row's last write and lease; undefined when there is no shared row yet. */
  shared: Pick<SharedAccessToken, 'refreshedAt' | 'leaseOwner' | 'leaseUntil'> | undefined;
}

export interface LeaseOptions {
  /** The caller's SP-API call was refused: only a token refreshed within FORCED_REFRESH_REUSE_MS is served. */
  force: boolean;
  /** Never serve a token refreshed before this request (the sweep proving a refresh token still works). */
  prove: boolean;
  /** This refresh's lease-owner id: a lease it already holds is not another instance's. */
  owner: string;
}

export type LeaseDecision<Token> =
  /** Serve the current token as it is. */
  | { action: 'serve'; token: Token }
  /**
   * Claim the lease and, if won, refresh. If another instance wins the claim first, `servedIfLost` is served
   * meanwhile; when undefined, the shared row is polled.
   */
  | { action: 'claim'; servedIfLost: Token | undefined }
  /** Another instance holds an unexpired lease: poll the shared row until a token appears or the lease lapses. */
  | { action: 'wait' };

/**
 * Serve, claim or wait, from one read of the shared row. Serves a current token with REFRESH_AHEAD_MS or more left,
 * or still valid while another instance holds the lease (it is refreshing ahead); a forced request only when the
 * token was refreshed within FORCED_REFRESH_REUSE_MS, and a proving one never. Otherwise claims the lease unless
 * another instance holds it unexpired, in which case it waits.
 */
export function leaseDecision<Token extends Pick<AccessToken, 'expiresAt'>>(
  source: LeaseSource<Token>,
  now: Date,
  options: LeaseOptions,
): LeaseDecision<Token> {
  const { current, shared } = source;
  const at = now.getTime();
  const leaseUntil = shared?.leaseUntil?.getTime() ?? 0;
  const leasedByOther = shared?.leaseOwner != null && shared.leaseOwner !== options.owner && leaseUntil > at;
  if (current !== undefined) {
    const refreshedAt = shared?.refreshedAt?.getTime();
    const justRefreshed = refreshedAt !== undefined && at - refreshedAt < FORCED_REFRESH_REUSE_MS;
    const serve = options.force ? justRefreshed && !options.prove : current.expiresAt.getTime() - at >= REFRESH_AHEAD_MS || leasedByOther;
    if (serve) return { action: 'serve', token: current };
  }
  if (leasedByOther) return { action: 'wait' };
  // A lost claim means another instance is refreshing: a still-valid token keeps being served meanwhile.
  return { action: 'claim', servedIfLost: options.force ? undefined : current };
}
