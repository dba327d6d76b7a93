import type { CredentialSecrets, CredentialSummary } from '../credential.js';
import type { FailureDetails } from '../limits.js';
import type { CredentialScope } from '../marketplaces.js';

/** What the access-token service needs: the row and its shared token in one read, the fleet's lease, revocation. */
export interface AccessTokenStore {
  /**
   * The credential row of (customer, scope) with its `sp_api_access_tokens` row, in ONE read (a join); undefined
   * when there is no credential row.
   */
  readAccessTokenSource(customerId: string, scope: CredentialScope): Promise<AccessTokenSource | undefined>;

  /**
   * Claims the refresh lease of (customer, scope) in one conditional statement (an UPDATE, or the INSERT of the row
   * when it has none yet): only when nobody holds an unexpired lease or the lease is already `owner`'s. True for the
   * winner. False, too, when the credential row is missing.
   */
  claimAccessTokenLease(input: AccessTokenLeaseClaim): Promise<boolean>;

  /**
   * Writes the token, its generation and expiry and clears the lease in one conditional statement: only while
   * `owner` still holds the lease and the credential row is still authorized for exactly `sellingPartnerId` with
   * `expectedRefreshToken` (the generation unchanged). True when written.
   */
  storeSharedAccessToken(input: SharedAccessTokenWrite): Promise<boolean>;

  /** Gives the lease up (a refresh that failed), only while `owner` holds it. */
  releaseAccessTokenLease(input: { customerId: string; scope: CredentialScope; owner: string }): Promise<void>;

  /**
   * Marks an authorized row `revoked` (last_error set) and records a `refresh` attempt (outcome failed, reason
   * authorization_revoked, Amazon's error), in one transaction, only while the row is authorized with exactly
   * `expectedRefreshToken`. True when it marked the row.
   */
  markRevoked(input: Revocation): Promise<boolean>;

  /**
   * LWA accepted again the refresh token of a revoked row (a spurious invalid_grant): the row is authorized again (its
   * grant and 365-day clock as they were), with a `refresh` attempt (outcome succeeded, reason revocation_withdrawn)
   * and an authorization.restored event, in one transaction, only while the row is revoked with exactly
   * `expectedRefreshToken`. The revocation stays in the attempts. True when it restored the row.
   */
  restoreRevoked(input: Restoration): Promise<boolean>;

  findCredential(customerId: string, scope: CredentialScope): Promise<(CredentialSummary & CredentialSecrets) | undefined>;
  /** The rows of one customer, or of one selling partner, in any status (no secrets). */
  listCredentialsFor(filter: { customerId: string } | { sellingPartnerId: string }): Promise<CredentialSummary[]>;
}

/**
 * One row of `sp_api_access_tokens`: the access token shared by every instance for (customer, scope), with the
 * credential generation that made it and the refresh lease. `accessToken` is a TokenCipher envelope (AAD column
 * `access_token`); null while a first refresh is under way (the row was created by a lease claim).
 */
export interface SharedAccessToken {
  /** credentialGeneration() of the row the token was made from; null before the first token was written. */
  generation: string | null;
  accessToken: string | null;
  expiresAt: Date | null;
  /** When the token was last written (a lease claim leaves it alone). */
  refreshedAt: Date | null;
  leaseOwner: string | null;
  leaseUntil: Date | null;
}

/** What an access-token miss reads in its one round trip: the credential row and its shared token row (a join). */
export interface AccessTokenSource {
  credential: CredentialSummary & CredentialSecrets;
  shared: SharedAccessToken | undefined;
}

export interface AccessTokenLeaseClaim {
  customerId: string;
  scope: CredentialScope;
  /** The claiming instance (AccessTokenService's random owner id, up to LIMITS.leaseOwner characters). */
  owner: string;
  now: Date;
  /** The lease's deadline: after it any instance may claim the lease (its owner is presumed dead). */
  until: Date;
}

export interface SharedAccessTokenWrite {
  customerId: string;
  scope: CredentialScope;
  owner: string;
  /** The generation of the credential the token was made from, and the parts of it the store checks. */
  generation: string;
  sellingPartnerId: string;
  expectedRefreshToken: string;
  /** TokenCipher envelope of the access token (AAD column `access_token`). */
  accessToken: string;
  expiresAt: Date;
  now: Date;
}

export interface Restoration {
  customerId: string;
  scope: CredentialScope;
  expectedRefreshToken: string;
  now: Date;
}

export interface Revocation {
  customerId: string;
  scope: CredentialScope;
  /** The envelope that LWA refused: a row re-authorized meanwhile (new token) is not marked. */
  expectedRefreshToken: string;
  failure: FailureDetails;
  now: Date;
}
