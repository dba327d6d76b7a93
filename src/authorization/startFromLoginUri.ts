import { z } from 'zod';
import type { Settings } from '../config/settings.js';
import { amazonCallbackRedirect, amazonCallbackRegion, isPathOnly, resolvePathOnly } from './amazonCallback.js';
import { AMAZON_STATE_PATTERN, isVendorId, SELLING_PARTNER_ID_PATTERN } from './identifiers.js';
import { defaultMarketplace, findMarketplace, type Marketplace } from './marketplaces.js';
import { describeError } from './ports.js';
import { beginAttempt, type BrowserBinding, type StartDeps } from './startAuthorization.js';

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
  const hostRegion = pathOnly ? undefined : amazonCallbackRegion(sentCallbackUri, settings.sellerCentralUrl);
  if (!pathOnly && hostRegion === undefined) {
    logger.warn('Login URI request refused', { problem: 'amazon_callback_invalid' });
    return { kind: 'refused', problem: 'amazon_callback_invalid' };
  }

  let rows;
  try {
    rows = (await deps.store.listCredentialsFor({ sellingPartnerId })).filter((row) => hostRegion === undefined || row.region === hostRegion);
  } catch (error) {
    logger.error('Login URI: store did not answer', { error: describeError(error) });
    return { kind: 'unavailable' };
  }

  if (rows.length === 0) {
    // Not linked (in that region): oxWebApp identifies the customer and comes back through a signed launch link,
    // whose marketplace then also resolves a path-only amazon_callback_uri.
    if (settings.oxWebAppLinkUrl === undefined) return { kind: 'start_from_shipica', why: 'unknown_seller' };
    const identify = new URL(settings.oxWebAppLinkUrl);
    identify.searchParams.set('amazon_callback_uri', sentCallbackUri);
    identify.searchParams.set('amazon_state', amazonState);
    identify.searchParams.set('selling_partner_id', sellingPartnerId);
    if (version !== undefined) identify.searchParams.set('version', version);
    logger.info('Login URI: unknown seller sent to oxWebApp to log in', { region: hostRegion ?? null, sellingPartnerId });
    return { kind: 'identify', location: identify.toString() };
  }
  const [linked] = rows;
  if (linked === undefined || rows.length > 1) {
    // Linked in several regions and Amazon's address names none: which authorization is this? Ask for Shipica.
    logger.warn('Login URI: path-only amazon_callback_uri for a seller linked in several regions', { sellingPartnerId });
    return { kind: 'start_from_shipica', why: 'ambiguous' };
  }

  const marketplace: Marketplace = (linked.marketplace === null ? undefined : findMarketplace(linked.marketplace)) ?? defaultMarketplace(linked.region);
  const amazonCallbackUri = pathOnly ? resolvePathOnly(sentCallbackUri, marketplace, settings.sellerCentralUrl) : sentCallbackUri;
  if (amazonCallbackUri === undefined) {
    logger.warn('Login URI request refused', { problem: 'amazon_callback_invalid' });
    return { kind: 'refused', problem: 'amazon_callback_invalid' };
  }
  const begun = await beginAttempt(deps, {
    flow: 'reauthorize',
    customerId: linked.customerId,
    region: linked.region,
    marketplace: marketplace.code,
    expectedSellingPartnerId: sellingPartnerId,
  });
  if (begun.kind !== 'begun') return begun;
  return {
    kind: 'redirect',
    location: amazonCallbackRedirect({ amazonCallbackUri, redirectUri: settings.redirectUri, amazonState, state: begun.state, version }),
    browserBinding: begun.browserBinding,
  };
}
