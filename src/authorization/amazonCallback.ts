import { CENTRAL_HOST_SCOPES, isScope, type CredentialScope, type Marketplace } from '../credentials/index.js';

/**
 * `amazon_callback_uri` from the Login URI flow. We redirect the browser to it, so it must be Amazon's, or the Login
 * URI is an open redirect: https on a Seller Central host of the marketplace table, whose host also tells the
 * credential scope: the region in NA and EU, the marketplace in the Far East (sellercentral.amazon.co.jp is JP's)
 * (Vendor Central hosts are not on the list: Shipica's app is a seller app). In the sandbox (SELLER_CENTRAL_URL set),
 * URIs under that base are accepted too, with the scope as the first path segment after it
 * (`<base>/eu/apps/authorize/confirm`, `<base>/jp/…`): one local host stands in for every Seller Central.
 *
 * Amazon has also been seen sending a path only (`/apps/authorize/confirm/<app id>`): see resolvePathOnly.
 */
export function amazonCallbackScope(uri: string, sellerCentralUrl: string | undefined): CredentialScope | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.username !== '' || url.password !== '' || url.hash !== '') return undefined;
  if (sellerCentralUrl !== undefined) {
    // Compared as parsed URLs, whose paths have `..`, `%2e%2e` and `.` resolved: `<base>/NA/../../x` is not under base.
    const base = new URL(`${sellerCentralUrl}/`);
    if (url.origin === base.origin && url.pathname.startsWith(base.pathname)) {
      const segment = url.pathname.slice(base.pathname.length).split('/')[0]?.toUpperCase() ?? '';
      return isScope(segment) ? segment : undefined;
    }
  }
  if (url.protocol !== 'https:' || url.port !== '') return undefined;
  return CENTRAL_HOST_SCOPES.get(url.hostname);
}

/**
 * A path with no scheme or host: one leading slash (never `//` or `/\`, which browsers read as another host), then
 * printable ASCII other than a backslash, bounded.
 */
const PATH_ONLY = /^\/(?![/\\])[\x21-\x5b\x5d-\x7e]{0,2047}$/;

export function isPathOnly(uri: string): boolean {
  return PATH_ONLY.test(uri);
}

/**
 * The Seller Central origin of a marketplace, from the marketplace table (or, in the sandbox, SELLER_CENTRAL_URL and
 * the scope's segment): never from input.
 */
export function sellerCentralBase(marketplace: Marketplace, sellerCentralUrl: string | undefined): string {
  return sellerCentralUrl === undefined ? `https://${marketplace.sellerCentralHost}` : `${sellerCentralUrl}/${marketplace.scope.toLowerCase()}`;
}

/**
 * A path-only `amazon_callback_uri` resolved against the Seller Central of `marketplace`; undefined when it is not a
 * plain path or would leave that origin.
 */
export function resolvePathOnly(path: string, marketplace: Marketplace, sellerCentralUrl: string | undefined): string | undefined {
  if (!isPathOnly(path)) return undefined;
  const base = sellerCentralBase(marketplace, sellerCentralUrl);
  let resolved: URL;
  try {
    resolved = new URL(`${base}${path}`);
  } catch {
    return undefined;
  }
  const href = resolved.toString();
  return resolved.origin === new URL(base).origin && href.startsWith(base) ? href : undefined;
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
