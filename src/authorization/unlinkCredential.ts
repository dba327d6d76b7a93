import type { Clock, CredentialScope, Logger, OpsStore, UnlinkResult } from '../credentials/index.js';

export interface UnlinkDeps {
  store: Pick<OpsStore, 'unlinkCredential'>;
  clock: Clock;
  logger: Logger;
  /** This process's access tokens: the unlinked seller's token is evicted at once (other instances within their recheck). */
  accessTokens: { evict(customerId: string, scope: CredentialScope): void };
}

/**
 * Ops: removes the link between a customer and the seller authorized for it in one scope (refresh token and all),
 * so the next authorization may bring another seller. Switching sellers is never done in passing by a callback
 * (partner_changed); this is the explicit way. The store records it as an attempt with flow `ops`.
 */
export async function unlinkCredential(deps: UnlinkDeps, target: { customerId: string; scope: CredentialScope }): Promise<UnlinkResult> {
  const result = await deps.store.unlinkCredential({ ...target, now: deps.clock.now() });
  deps.accessTokens.evict(target.customerId, target.scope);
  if (result.kind === 'unlinked') {
    deps.logger.warn('credential unlinked by ops', {
      customerId: target.customerId,
      scope: target.scope,
      previousSellingPartnerId: result.previousSellingPartnerId,
      previousStatus: result.previousStatus,
    });
  }
  return result;
}
