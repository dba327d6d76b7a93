import { CENTRAL_HOST_REGIONS, isRegion, type Region } from './marketplaces.js';

/**
 * `amazon_callback_uri` from the Login URI flow. We redirect the browser to it, so it must be Amazon's, or the Login
 * URI is an open redirect: https on a Seller/Vendor Central host of the marketplace table, whose host also tells the
 * region. In the sandbox (SELLER_CENTRAL_URL set), URIs under that base are accepted too, with the region as the
 * first path segment after it (`<base>/eu/apps/authorize/confirm`): one local host stands in for every region.
 */
export function amazonCallbackRegion(uri: string, sellerCentralUrl: string | undefined): Region | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.username !== '' || url.password !== '' || url.hash !== '') return undefined;
  if (sellerCentralUrl !== undefined && uri.startsWith(`${sellerCentralUrl}/`)) {
    const segment = uri.slice(sellerCentralUrl.length + 1).split('/')[0]?.toUpperCase() ?? '';
    return isRegion(segment) ? segment : undefined;
  }
  if (url.protocol !== 'https:' || url.port !== '') return undefined;
  return CENTRAL_HOST_REGIONS.get(url.hostname);
}

/** `amazon_callback_uri?redirect_uri=…&amazon_state=…&state=…[&version=beta]`, keeping any query it already has. */
export function amazonCallbackRedirect(input: {
  amazonCallbackUri: string;
  redirectUri: string;
  amazonState: string;
  state: string;
  version: string | undefined;
}): string {
  const url = new URL(input.amazonCallbackUri);
  url.searchParams.set('redirect_uri', input.redirectUri);
  url.searchParams.set('amazon_state', input.amazonState);
  url.searchParams.set('state', input.state);
  if (input.version === 'beta') url.searchParams.set('version', 'beta');
  return url.toString();
}
