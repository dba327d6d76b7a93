import type { Clock, Logger, OpsStore, Region, UnlinkResult } from '../credentials/index.js';

export interface UnlinkDeps {
  store: Pick<OpsStore, 'unlinkCredential'>;
  clock: Clock;
  logger: Logger;
  /** This process's access tokens: the unlinked seller's token is evicted at once (other instances within their recheck). */
  accessTokens: { evict(customerId: string, region: Region): void };
}

/**
 * Ops: removes the link between a customer and the seller authorized for it in one region (refresh token and all),
 * so the next authorization may bring another seller. Switching sellers is never done in passing by a callback
 * (partner_changed); this is the explicit way. The store records it as an attempt with flow `ops`.
 */
export async function unlinkCredential(deps: UnlinkDeps, target: { customerId: string; region: Region }): Promise<UnlinkResult> {
  const result = await deps.store.unlinkCredential({ ...target, now: deps.clock.now() });
  deps.accessTokens.evict(target.customerId, target.region);
  if (result.kind === 'unlinked') {
    deps.logger.warn('credential unlinked by ops', {
      customerId: target.customerId,
      region: target.region,
      previousSellingPartnerId: result.previousSellingPartnerId,
      previousStatus: result.previousStatus,
    });
  }
  return result;
}
