/**
 * The one marketplace table: code → region, the credential scope it is authorized in, and the Seller / Vendor Central
 * hosts whose `/apps/authorize/consent` page asks the seller for consent. In North America and Europe one consent (one
 * refresh token) covers every marketplace of the region; in the Far East JP, AU and SG are separate seller accounts,
 * each authorized on its own (its own refresh token, often its own selling partner id): a credential's scope is the
 * region for NA and EU and the marketplace in the Far East. Hosts marked "unverified" in the facts file (IE, ZA) are
 * Amazon's published pattern, not confirmed.
 */
export const REGIONS = ['NA', 'EU', 'FE'] as const;
export type Region = (typeof REGIONS)[number];

/** What one credential (one consent, one refresh token) covers: a region in NA and EU, a marketplace in the Far East. */
export const CREDENTIAL_SCOPES = ['NA', 'EU', 'JP', 'AU', 'SG'] as const;
export type CredentialScope = (typeof CREDENTIAL_SCOPES)[number];
/** The Far East's scopes: one per marketplace. */
export const FAR_EAST_SCOPES = ['JP', 'AU', 'SG'] as const satisfies readonly CredentialScope[];

export function isScope(value: string): value is CredentialScope {
  return (CREDENTIAL_SCOPES as readonly string[]).includes(value);
}

/** The region a scope lies in (its SP-API endpoint, its Seller Central). */
export function regionOfScope(scope: CredentialScope): Region {
  return scope === 'NA' || scope === 'EU' ? scope : 'FE';
}

/** The scopes of a region: itself in NA and EU, each marketplace in the Far East. */
export function scopesOfRegion(region: Region): readonly CredentialScope[] {
  return region === 'FE' ? FAR_EAST_SCOPES : [region];
}

export interface Marketplace {
  code: string;
  region: Region;
  /** The credential scope the marketplace is authorized in. */
  scope: CredentialScope;
  sellerCentralHost: string;
  /** Absent where Amazon publishes no Vendor Central host for the marketplace (or sources conflict). */
  vendorCentralHost: string | undefined;
}

const table: ReadonlyArray<readonly [code: string, region: Region, sellerCentral: string, vendorCentral?: string]> = [
  ['US', 'NA', 'sellercentral.amazon.com', 'vendorcentral.amazon.com'],
  ['CA', 'NA', 'sellercentral.amazon.ca', 'vendorcentral.amazon.ca'],
  ['MX', 'NA', 'sellercentral.amazon.com.mx', 'vendorcentral.amazon.com.mx'],
  ['BR', 'NA', 'sellercentral.amazon.com.br', 'vendorcentral.amazon.com.br'],
  ['UK', 'EU', 'sellercentral-europe.amazon.com', 'vendorcentral.amazon.co.uk'],
  ['DE', 'EU', 'sellercentral-europe.amazon.com', 'vendorcentral.amazon.de'],
  ['FR', 'EU', 'sellercentral-europe.amazon.com', 'vendorcentral.amazon.fr'],
  ['IT', 'EU', 'sellercentral-europe.amazon.com', 'vendorcentral.amazon.it'],
  ['ES', 'EU', 'sellercentral-europe.amazon.com', 'vendorcentral.amazon.es'],
  ['NL', 'EU', 'sellercentral.amazon.nl', 'vendorcentral.amazon.nl'],
  ['SE', 'EU', 'sellercentral.amazon.se', 'vendorcentral.amazon.se'],
  ['PL', 'EU', 'sellercentral.amazon.pl', 'vendorcentral.amazon.pl'],
  ['BE', 'EU', 'sellercentral.amazon.com.be'],
  ['TR', 'EU', 'sellercentral.amazon.com.tr', 'vendorcentral.amazon.com.tr'],
  ['AE', 'EU', 'sellercentral.amazon.ae', 'vendorcentral.amazon.me'],
  ['IN', 'EU', 'sellercentral.amazon.in'],
  ['EG', 'EU', 'sellercentral.amazon.eg', 'vendorcentral.amazon.me'],
  ['SA', 'EU', 'sellercentral.amazon.sa', 'vendorcentral.amazon.me'],
  ['IE', 'EU', 'sellercentral.amazon.ie'],
  ['ZA', 'EU', 'sellercentral.amazon.co.za'],
  ['JP', 'FE', 'sellercentral.amazon.co.jp', 'vendorcentral.amazon.co.jp'],
  ['AU', 'FE', 'sellercentral.amazon.com.au', 'vendorcentral.amazon.com.au'],
  ['SG', 'FE', 'sellercentral.amazon.sg', 'vendorcentral.amazon.com.sg'],
];

export const MARKETPLACES: ReadonlyMap<string, Marketplace> = new Map(
  table.map(([code, region, sellerCentralHost, vendorCentralHost]) => [
    code,
    { code, region, scope: scopeOf(code, region), sellerCentralHost, vendorCentralHost },
  ]),
);

function scopeOf(code: string, region: Region): CredentialScope {
  if (region !== 'FE') return region;
  const scope = FAR_EAST_SCOPES.find((s) => s === code);
  if (scope === undefined) throw new Error(`the Far East marketplace ${code} has no credential scope`);
  return scope;
}

export const MARKETPLACE_CODES: readonly string[] = [...MARKETPLACES.keys()];

export function findMarketplace(code: string): Marketplace | undefined {
  return MARKETPLACES.get(code);
}

/**
 * Seller Central's country hosts for the Europe-unified marketplaces. Consent URLs use sellercentral-europe, but
 * Amazon serves Seller Central (and so Manage Your Apps) on these too: they are Amazon's, and only ever allowed as
 * the host of an `amazon_callback_uri` (Login URI), never used to build a URL.
 */
const EU_COUNTRY_SELLER_CENTRAL_HOSTS = ['sellercentral.amazon.co.uk', 'sellercentral.amazon.de', 'sellercentral.amazon.fr', 'sellercentral.amazon.it', 'sellercentral.amazon.es'];

/**
 * Every Seller Central host Amazon may send in `amazon_callback_uri`, with the credential scope it serves (a Far
 * East host serves its one marketplace). Vendor Central hosts are left out: Shipica's app is a seller app, and a
 * vendor's Login-URI request is refused (vendor_not_supported).
 */
export const CENTRAL_HOST_SCOPES: ReadonlyMap<string, CredentialScope> = new Map([
  ...[...MARKETPLACES.values()].map((m): [string, CredentialScope] => [m.sellerCentralHost, m.scope]),
  ...EU_COUNTRY_SELLER_CENTRAL_HOSTS.map((h): [string, CredentialScope] => [h, 'EU']),
]);

/** The first marketplace of the scope in the table (US, UK; JP, AU, SG themselves): for rows whose marketplace is not known. */
export function defaultMarketplace(scope: CredentialScope): Marketplace {
  const found = [...MARKETPLACES.values()].find((m) => m.scope === scope);
  if (found === undefined) throw new Error(`no marketplace for scope ${scope}`);
  return found;
}

/** A scope in words, for pages: the region in NA and EU, the country in the Far East. */
export const SCOPE_NAMES: Readonly<Record<CredentialScope, string>> = {
  NA: 'North America',
  EU: 'Europe',
  JP: 'Japan',
  AU: 'Australia',
  SG: 'Singapore',
};

export function isRegion(value: string): value is Region {
  return (REGIONS as readonly string[]).includes(value);
}
