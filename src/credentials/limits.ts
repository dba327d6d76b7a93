/** Column limits shared by both schemas (and checked by the contract suite). */
export const LIMITS = {
  customerId: 64,
  sellingPartnerId: 64,
  /** The MWS token as Amazon sends it; stored as an envelope of up to encryptedMwsAuthToken characters. */
  mwsAuthToken: 256,
  encryptedMwsAuthToken: 1024,
  encryptedCode: 1024,
  /** VARCHAR(8000): LWA documents tokens of up to 2048 bytes; the longest accepted token's envelope must fit. */
  encryptedRefreshToken: 8000,
  lastError: 1000,
  lwaError: 64,
  lwaErrorDescription: 500,
  /** sp_api_access_tokens: the access-token envelope, the generation text, the lease owner id. */
  encryptedAccessToken: 8000,
  credentialGeneration: 160,
  leaseOwner: 64,
} as const;

/** Why an attempt failed, in Amazon's words where Amazon gave them. */
export interface FailureDetails {
  reason: string;
  lwaError?: string | undefined;
  lwaErrorDescription?: string | undefined;
}

/** A row's `last_error`: the reason, then Amazon's error code and description, within the column. */
export function formatLastError(failure: FailureDetails): string {
  const amazon = failure.lwaError === undefined ? '' : ` (${failure.lwaError}${failure.lwaErrorDescription ? `: ${failure.lwaErrorDescription}` : ''})`;
  return `${failure.reason}${amazon}`.slice(0, LIMITS.lastError);
}
