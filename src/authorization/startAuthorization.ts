import {
  describeError,
  type AuthorizationStore,
  type Clock,
  type Logger,
  type RandomSource,
  type CredentialScope,
  type StartedFlow,
} from '../credentials/index.js';
import type { Settings } from '../config/settings.js';
import { amazonCallbackRedirect, amazonCallbackScope, isPathOnly, resolvePathOnly } from './amazonCallback.js';
import { isVendorId } from './identifiers.js';
import { buildConsentUrl } from './consentUrl.js';
import { verifyLaunchLink, type LaunchLinkProblem } from './launchLink.js';
import { bindingCookieName, newBrowserBinding, newState, sha256Hex } from './state.js';

export type StartSettings = Pick<
  Settings,
  'applicationId' | 'redirectUri' | 'draftApp' | 'sellerCentralUrl' | 'launchLinkSecret' | 'stateTtlSeconds'
>;

export interface StartDeps {
  settings: StartSettings;
  store: AuthorizationStore;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
}

export interface BrowserBinding {
  cookieName: string;
  value: string;
  maxAgeSeconds: number;
}

export type StartOutcome =
  | { kind: 'redirect'; location: string; browserBinding: BrowserBinding }
  | { kind: 'refused'; problem: LaunchLinkProblem | 'amazon_callback_invalid' | 'vendor_not_supported' }
  | { kind: 'too_many_attempts' }
  | { kind: 'unavailable' };

/**
 * The browser-binding cookie outlives the state by this much, so a callback that comes too late is told so
 * (state_expired) and a replay in the same browser is recognised as that browser.
 */
export const BINDING_COOKIE_EXTRA_SECONDS = 3600;

/**
 * AuthorizeStart: verify oxWebApp's launch link, record the attempt and a pending row, and send the seller on:
 * to the consent page (website workflow), or, when the link carries what Amazon sent to our Login URI (a first
 * Appstore install), back to Amazon's `amazon_callback_uri`.
 */
export async function startAuthorization(deps: StartDeps, launchLink: URLSearchParams): Promise<StartOutcome> {
  const { settings, clock, logger } = deps;
  const verified = verifyLaunchLink(launchLink, settings.launchLinkSecret, Math.floor(clock.now().getTime() / 1000));
  if (!verified.ok) {
    logger.warn('launch link refused', { problem: verified.problem });
    return { kind: 'refused', problem: verified.problem };
  }
  const { customerId, marketplace, appstore } = verified.link;

  if (appstore === undefined) {
    const begun = await beginAttempt(deps, { flow: 'website', customerId, scope: marketplace.scope, marketplace: marketplace.code, expectedSellingPartnerId: null });
    if (begun.kind !== 'begun') return begun;
    const location = buildConsentUrl({
      marketplace,
      applicationId: settings.applicationId,
      state: begun.state,
      redirectUri: settings.redirectUri,
      draftApp: settings.draftApp,
      sellerCentralUrl: settings.sellerCentralUrl,
    });
    return { kind: 'redirect', location, browserBinding: begun.browserBinding };
  }

  if (isVendorId(appstore.sellingPartnerId)) {
    logger.warn('launch link refused', { problem: 'vendor_not_supported', customerId });
    return { kind: 'refused', problem: 'vendor_not_supported' };
  }
  // The Amazon host decides the scope: a marketplace of another scope cannot be what Amazon is asking about. A
  // path-only URI (Amazon sends those too) is resolved against this marketplace's Seller Central.
  const amazonCallbackUri = isPathOnly(appstore.amazonCallbackUri)
    ? resolvePathOnly(appstore.amazonCallbackUri, marketplace, settings.sellerCentralUrl)
    : amazonCallbackScope(appstore.amazonCallbackUri, settings.sellerCentralUrl) === marketplace.scope
      ? appstore.amazonCallbackUri
      : undefined;
  if (amazonCallbackUri === undefined) {
    logger.warn('launch link refused', { problem: 'amazon_callback_invalid', customerId });
    return { kind: 'refused', problem: 'amazon_callback_invalid' };
  }
  const begun = await beginAttempt(deps, {
    flow: 'appstore',
    customerId,
    scope: marketplace.scope,
    marketplace: marketplace.code,
    expectedSellingPartnerId: appstore.sellingPartnerId,
  });
  if (begun.kind !== 'begun') return begun;
  const location = amazonCallbackRedirect({
    amazonCallbackUri,
    redirectUri: settings.redirectUri,
    amazonState: appstore.amazonState,
    state: begun.state,
    version: appstore.version,
  });
  return { kind: 'redirect', location, browserBinding: begun.browserBinding };
}

export interface AttemptTarget {
  flow: StartedFlow;
  customerId: string;
  scope: CredentialScope;
  marketplace: string;
  expectedSellingPartnerId: string | null;
}

/** A fresh state and browser binding for an attempt: only their hashes are stored. */
export interface AttemptKeys {
  state: string;
  stateHash: string;
  browserBindingHash: string;
  browserBinding: BrowserBinding;
  createdAt: Date;
  expiresAt: Date;
}

export function newAttemptKeys(deps: Pick<StartDeps, 'settings' | 'clock' | 'random'>): AttemptKeys {
  const { settings, clock, random } = deps;
  const now = clock.now();
  const state = newState(random);
  const stateHash = sha256Hex(state);
  const binding = newBrowserBinding(random);
  return {
    state,
    stateHash,
    browserBindingHash: sha256Hex(binding),
    browserBinding: { cookieName: bindingCookieName(stateHash), value: binding, maxAgeSeconds: settings.stateTtlSeconds + BINDING_COOKIE_EXTRA_SECONDS },
    createdAt: now,
    expiresAt: new Date(now.getTime() + settings.stateTtlSeconds * 1000),
  };
}

/**
 * What every signed way in shares: a fresh state (only its hash stored), a browser binding for the cookie, the
 * attempt and the (customer, scope) row upserted in one transaction (one store call).
 */
export async function beginAttempt(
  deps: StartDeps,
  target: AttemptTarget,
): Promise<{ kind: 'begun'; state: string; browserBinding: BrowserBinding } | { kind: 'too_many_attempts' } | { kind: 'unavailable' }> {
  const { store, logger } = deps;
  const keys = newAttemptKeys(deps);
  let started: 'started' | 'too_many_open';
  try {
    started = await store.startAuthorization({
      ...target,
      stateHash: keys.stateHash,
      browserBindingHash: keys.browserBindingHash,
      createdAt: keys.createdAt,
      expiresAt: keys.expiresAt,
    });
  } catch (error) {
    logger.error('could not record the authorization attempt', { customerId: target.customerId, scope: target.scope, error: describeError(error) });
    return { kind: 'unavailable' };
  }
  if (started === 'too_many_open') {
    logger.warn('authorization not started: too many open attempts', { flow: target.flow, customerId: target.customerId, scope: target.scope });
    return { kind: 'too_many_attempts' };
  }
  logger.info('authorization started', { flow: target.flow, customerId: target.customerId, scope: target.scope, marketplace: target.marketplace });
  return { kind: 'begun', state: keys.state, browserBinding: keys.browserBinding };
}
