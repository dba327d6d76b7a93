import { describeError, regionOfScope, type AccessTokenStore, type Clock, type CredentialScope, type Logger } from '../credentials/index.js';
import { CipherError, type TokenCipher } from '../crypto/tokenCipher.js';
import type { LwaClient } from '../lwa/lwaClient.js';
import type { AccessTokenCache } from './accessTokenCache.js';

/** What proving a revoked row's refresh token again came to. */
export type RecheckOutcome =
  /** LWA accepted it: the row is authorized again (authorization.restored). */
  | 'restored'
  /** LWA refused it again (invalid_grant): the row stays revoked. */
  | 'still_revoked'
  /** The row is not revoked (any more), or was changed while LWA answered: nothing to do. */
  | 'not_revoked'
  /** The row holds no refresh token: only a new consent can bring it back. */
  | 'no_refresh_token'
  /** LWA refused Shipica's own client: an app-wide incident, nothing learned about this seller. */
  | 'lwa_client_rejected'
  | 'lwa_unavailable'
  | 'credential_unreadable';

const RECHECK_DEADLINE_MS = 30_000;

export interface RevocationRecheckDeps {
  store: Pick<AccessTokenStore, 'findCredential' | 'restoreRevoked'>;
  lwa: Pick<LwaClient, 'refreshAccessToken'>;
  cipher: TokenCipher;
  clock: Clock;
  logger: Logger;
  cache: AccessTokenCache;
}

/**
 * Asks LWA again about a revoked row's sealed refresh token (a spurious invalid_grant during an LWA incident is not
 * the seller's revocation). Accepted: restoreRevoked authorizes the row again, only while it still holds the very
 * envelope that was proven (compare-and-swap), with an authorization.restored event; the access token LWA returned
 * is not kept (the next request refreshes under the fleet's lease).
 */
export async function recheckRevoked(deps: RevocationRecheckDeps, customerId: string, scope: CredentialScope): Promise<RecheckOutcome> {
  const row = await deps.store.findCredential(customerId, scope);
  if (row === undefined || row.status !== 'revoked') return 'not_revoked';
  const envelope = row.lwaRefreshToken;
  if (envelope === null) return 'no_refresh_token';
  let refreshToken: string;
  try {
    refreshToken = deps.cipher.decrypt(envelope, { column: 'lwa_refresh_token', customerId, region: regionOfScope(scope) });
  } catch (error) {
    if (!(error instanceof CipherError)) throw error;
    deps.logger.error('stored refresh token cannot be decrypted: is its key still in TOKEN_ENCRYPTION_KEYS?', { customerId, scope, error: describeError(error) });
    return 'credential_unreadable';
  }
  const grant = await deps.lwa.refreshAccessToken({ refreshToken, deadline: new Date(deps.clock.now().getTime() + RECHECK_DEADLINE_MS) });
  if (!grant.ok) {
    switch (grant.failure.kind) {
      case 'invalid_grant':
        return 'still_revoked';
      case 'invalid_client':
      case 'client_error':
        return 'lwa_client_rejected';
      case 'unavailable':
        return 'lwa_unavailable';
    }
  }
  const restored = await deps.store.restoreRevoked({ customerId, scope, expectedRefreshToken: envelope, now: deps.clock.now() });
  if (!restored) return 'not_revoked';
  deps.cache.delete(customerId, scope);
  deps.logger.info('revocation withdrawn: LWA accepted the refresh token again', { customerId, scope });
  return 'restored';
}
