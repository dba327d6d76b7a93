import { z } from 'zod';
import {
  defaultMarketplace,
  describeError,
  findMarketplace,
  CREDENTIAL_SCOPES,
  MARKETPLACE_CODES,
  type CredentialScope,
  type LoginUriStartResult,
  type Marketplace,
} from '../credentials/index.js';
import type { Settings } from '../config/settings.js';
import { amazonCallbackRedirect, amazonCallbackScope, isPathOnly, resolvePathOnly } from './amazonCallback.js';
import { AMAZON_STATE_PATTERN, isVendorId, SELLING_PARTNER_ID_PATTERN } from './identifiers.js';
import { newAttemptKeys, type BrowserBinding, type StartDeps } from './startAuthorization.js';

/**
 * AppstoreLogin, the app's OAuth Login URI: where Amazon sends a seller who clicks Re-Authorize in Seller Central >
 * Manage Your Apps (every 365 days) or installs the app from the Appstore. A seller we know is re-authorized for
 * the customer it belongs to; a seller we do not know goes to oxWebApp to log in, which sends the browser back
 * through a signed launch link carrying Amazon's fields (see startAuthorization).
 */
export interface LoginDeps extends StartDeps {
  settings: StartDeps['settings'] & Pick<Settings, 'oxWebAppLinkUrl'>;
}

export type LoginOutcome =
  | { kind: 'redirect'; location: string; browserBinding: BrowserBinding }
  | { kind: 'identify'; location: string }
  | { kind: 'start_from_shipica'; why: 'unknown_seller' | 'ambiguous' }
  | { kind: 'refused'; problem: 'login_request_invalid' | 'amazon_callback_invalid' | 'vendor_not_supported' }
  | { kind: 'too_many_attempts' }
  | { kind: 'unavailable' };

const loginQuery = z.object({
  amazon_callback_uri: z.string().min(1).max(2048),
  amazon_state: z.string().regex(AMAZON_STATE_PATTERN),
  selling_partner_id: z.string().regex(SELLING_PARTNER_ID_PATTERN),
  version: z.literal('beta').optional(),
});

export async function startFromLoginUri(deps: LoginDeps, query: URLSearchParams): Promise<LoginOutcome> {
  const { settings, logger } = deps;
  const names = ['amazon_callback_uri', 'amazon_state', 'selling_partner_id', 'version'] as const;
  const repeated = names.some((name) => query.getAll(name).length > 1);
  const parsed = loginQuery.safeParse(Object.fromEntries(names.map((name) => [name, query.get(name) ?? undefined])));
  if (repeated || !parsed.success) {
    logger.warn('Login URI request refused', { problem: 'login_request_invalid' });
    return { kind: 'refused', problem: 'login_request_invalid' };
  }
  const { amazon_callback_uri: sentCallbackUri, amazon_state: amazonState, selling_partner_id: sellingPartnerId, version } = parsed.data;
  if (isVendorId(sellingPartnerId)) {
    logger.warn('Login URI request refused', { problem: 'vendor_not_supported' });
    return { kind: 'refused', problem: 'vendor_not_supported' };
  }
  const pathOnly = isPathOnly(sentCallbackUri);
  // The host names the credential: sellercentral.amazon.co.jp re-authorizes the JP one, never the AU one.
  const hostScope = pathOnly ? undefined : amazonCallbackScope(sentCallbackUri, settings.sellerCentralUrl);
  if (!pathOnly && hostScope === undefined) {
    logger.warn('Login URI request refused', { problem: 'amazon_callback_invalid' });
    return { kind: 'refused', problem: 'amazon_callback_invalid' };
  }

  // A path-only URI is resolved against the Seller Central of the marketplace the attempt takes, which only the store
  // call below decides: a path that some marketplace could not resolve is refused now, so no attempt is ever
  // written that this flow would then refuse. (Against a real host every plain path resolves; only the sandbox's
  // base, which has a path of its own, can be escaped.)
  if (pathOnly && MARKETPLACE_CODES.some((code) => resolvePathOnly(sentCallbackUri, marketplaceOf(code), settings.sellerCentralUrl) === undefined)) {
    logger.warn('Login URI request refused', { problem: 'amazon_callback_invalid' });
    return { kind: 'refused', problem: 'amazon_callback_invalid' };
  }

  // One store call: the row(s) holding the seller and, when exactly one does, the attempt.
  const keys = newAttemptKeys(deps);
  let started: LoginUriStartResult;
  try {
    started = await deps.store.startLoginUriAttempt({
      sellingPartnerId,
      scope: hostScope,
      marketplaces: MARKETPLACE_CODES,
      defaultMarketplaces: DEFAULT_MARKETPLACES,
      stateHash: keys.stateHash,
      browserBindingHash: keys.browserBindingHash,
      createdAt: keys.createdAt,
      expiresAt: keys.expiresAt,
    });
  } catch (error) {
    logger.error('Login URI: store did not answer', { error: describeError(error) });
    return { kind: 'unavailable' };
  }

  switch (started.kind) {
    case 'unknown_seller': {
      // Not linked (in that scope): oxWebApp identifies the customer and comes back through a signed launch link,
      // whose marketplace then also resolves a path-only amazon_callback_uri.
      if (settings.oxWebAppLinkUrl === undefined) return { kind: 'start_from_shipica', why: 'unknown_seller' };
      const identify = new URL(settings.oxWebAppLinkUrl);
      identify.searchParams.set('amazon_callback_uri', sentCallbackUri);
      identify.searchParams.set('amazon_state', amazonState);
      identify.searchParams.set('selling_partner_id', sellingPartnerId);
      if (version !== undefined) identify.searchParams.set('version', version);
      logger.info('Login URI: unknown seller sent to oxWebApp to log in', { scope: hostScope ?? null, sellingPartnerId });
      return { kind: 'identify', location: identify.toString() };
    }
    case 'ambiguous':
      // Linked in several scopes and Amazon's address names none: which authorization is this? Ask for Shipica.
      logger.warn('Login URI: path-only amazon_callback_uri for a seller linked in several scopes', { sellingPartnerId });
      return { kind: 'start_from_shipica', why: 'ambiguous' };
    case 'too_many_open':
      logger.warn('authorization not started: too many open attempts', { flow: 'reauthorize', customerId: started.customerId, scope: started.scope });
      return { kind: 'too_many_attempts' };
    case 'started':
      break;
  }

  const { customerId, scope, marketplace } = started;
  const amazonCallbackUri = pathOnly ? resolvePathOnly(sentCallbackUri, marketplaceOf(marketplace), settings.sellerCentralUrl) : sentCallbackUri;
  if (amazonCallbackUri === undefined) throw new Error('a path-only amazon_callback_uri checked above did not resolve');
  logger.info('authorization started', { flow: 'reauthorize', customerId, scope, marketplace });
  return {
    kind: 'redirect',
    location: amazonCallbackRedirect({ amazonCallbackUri, redirectUri: settings.redirectUri, amazonState, state: keys.state, version }),
    browserBinding: keys.browserBinding,
  };
}

/** Each scope's default marketplace (US, UK; JP, AU, SG themselves), for rows whose marketplace is not known. */
const DEFAULT_MARKETPLACES = Object.fromEntries(CREDENTIAL_SCOPES.map((scope) => [scope, defaultMarketplace(scope).code])) as Readonly<
  Record<CredentialScope, string>
>;

function marketplaceOf(code: string): Marketplace {
  const found = findMarketplace(code);
  if (found === undefined) throw new Error(`marketplace ${code} is not in the table`);
  return found;
}
