import type { Settings } from '../config/settings.js';
import type { CredentialStore } from '../store/credentialStore.js';
import { buildConsentUrl } from './consentUrl.js';
import { verifyLaunchLink, type LaunchLinkProblem } from './launchLink.js';
import type { Region } from './marketplaces.js';
import { describeError, type Clock, type Logger, type RandomSource } from './ports.js';
import { bindingCookieName, newBrowserBinding, newState, sha256Hex } from './state.js';

export type StartSettings = Pick<
  Settings,
  'applicationId' | 'redirectUri' | 'draftApp' | 'sellerCentralUrl' | 'launchLinkSecret' | 'stateTtlSeconds'
>;

export interface StartDeps {
  settings: StartSettings;
  store: CredentialStore;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
}

export type StartOutcome =
  | { kind: 'redirect'; consentUrl: string; browserBinding: { cookieName: string; value: string; maxAgeSeconds: number } }
  | { kind: 'refused'; problem: LaunchLinkProblem }
  | { kind: 'unavailable' };

/** AuthorizeStart: verify oxWebApp's launch link, record the attempt and a pending row, send the seller to consent. */
export async function startAuthorization(deps: StartDeps, launchLink: URLSearchParams): Promise<StartOutcome> {
  const { settings, store, clock, random, logger } = deps;
  const now = clock.now();
  const verified = verifyLaunchLink(launchLink, settings.launchLinkSecret, Math.floor(now.getTime() / 1000));
  if (!verified.ok) {
    logger.warn('launch link refused', { problem: verified.problem });
    return { kind: 'refused', problem: verified.problem };
  }
  const { customerId, marketplace } = verified.link;
  const region: Region = marketplace.region;

  const state = newState(random);
  const stateHash = sha256Hex(state);
  const binding = newBrowserBinding(random);
  try {
    await store.startAuthorization({
      stateHash,
      browserBindingHash: sha256Hex(binding),
      flow: 'website',
      customerId,
      region,
      marketplace: marketplace.code,
      createdAt: now,
      expiresAt: new Date(now.getTime() + settings.stateTtlSeconds * 1000),
    });
  } catch (error) {
    logger.error('could not record the authorization attempt', { customerId, region, error: describeError(error) });
    return { kind: 'unavailable' };
  }
  logger.info('authorization started', { customerId, region, marketplace: marketplace.code });
  return {
    kind: 'redirect',
    consentUrl: buildConsentUrl({
      marketplace,
      applicationId: settings.applicationId,
      state,
      redirectUri: settings.redirectUri,
      draftApp: settings.draftApp,
      sellerCentralUrl: settings.sellerCentralUrl,
    }),
    browserBinding: { cookieName: bindingCookieName(stateHash), value: binding, maxAgeSeconds: settings.stateTtlSeconds },
  };
}
