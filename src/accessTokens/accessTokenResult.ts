import type { AccessToken, CredentialScope, CredentialSummary, Region } from '../credentials/index.js';

/**
 * What a caller asks the AccessTokenService for: a customer's or a seller's token, in a scope (a marketplace names
 * its scope: JP, AU, SG in the Far East, its region elsewhere), in a region, or the only one there is.
 */
export type AccessTokenRequest = ({ customerId: string } | { sellingPartnerId: string }) & {
  region?: Region | undefined;
  /** The credential scope; when given with `region`, it must lie in it. */
  scope?: CredentialScope | undefined;
  /**
   * Skip the cached token and ask LWA: for a caller whose SP-API call was refused with 401/403 "access token
   * revoked". Goes through the fleet's refresh lease: a forced request that arrives while a refresh is under way, or
   * within FORCED_REFRESH_REUSE_MS of the last refresh of the same generation, is served that fresh token instead.
   */
  forceRefresh?: boolean | undefined;
  /**
   * Ask LWA even if another request refreshed a moment ago (implies forceRefresh): for the credential sweep, whose
   * question is whether the refresh token still works now, which a token reused from before a revocation cannot answer.
   */
  proveRefreshToken?: boolean | undefined;
};

export type AccessTokenErrorCode =
  | 'not_authorized'
  | 'region_required'
  /** region=FE for a requester with several Far East credentials: the marketplace (JP, AU, SG) must be named. */
  | 'marketplace_required'
  | 'authorization_revoked'
  | 'lwa_client_rejected'
  | 'lwa_unavailable'
  | 'credential_unreadable'
  /** Another instance holds the refresh lease and did not write a token within the wait (503, Retry-After). */
  | 'refresh_in_progress';

export type AccessTokenResult =
  | { ok: true; token: AccessToken }
  | { ok: false; error: AccessTokenErrorCode; message: string; retryAfterSeconds?: number };

export type AccessTokenFailure = Extract<AccessTokenResult, { ok: false }>;

export const REAUTHORIZE_HOW =
  'The seller must re-authorize Shipica: from Shipica ("Authorize Shipica"), or in Seller Central under Apps and Services > Manage Your Apps.';

export function fail(error: AccessTokenErrorCode, message: string, retryAfterSeconds?: number): AccessTokenFailure {
  return { ok: false, error, message, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) };
}

export function revoked(who: string, where: string): AccessTokenFailure {
  return fail('authorization_revoked', `${who}'s Amazon authorization${where} was revoked by the seller or has lapsed. ${REAUTHORIZE_HOW}`);
}

export function describeStatuses(rows: CredentialSummary[]): string {
  return rows.map((r) => `${r.status} (${r.scope})`).join(', ');
}
