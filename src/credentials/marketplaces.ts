/**
 * The one marketplace table: code → region and the Seller / Vendor Central hosts whose `/apps/authorize/consent`
 * page asks the seller for consent. Authorizations are regional: one refresh token covers every marketplace of
 * its region. Hosts marked "unverified" in the facts file (IE, ZA) are Amazon's published pattern, not confirmed.
 */
export const REGIONS = ['NA', 'EU', 'FE'] as const;
export type Region = (typeof REGIONS)[number];

export interface Marketplace {
  code: string;
  region: Region;
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
    { code, region, sellerCentralHost, vendorCentralHost },
  ]),
);

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
 * Every Seller Central host Amazon may send in `amazon_callback_uri`, with its region. Vendor Central hosts are left
 * out: Shipica's app is a seller app, and a vendor's Login-URI request is refused (vendor_not_supported).
 */
export const CENTRAL_HOST_REGIONS: ReadonlyMap<string, Region> = new Map([
  ...[...MARKETPLACES.values()].map((m): [string, Region] => [m.sellerCentralHost, m.region]),
  ...EU_COUNTRY_SELLER_CENTRAL_HOSTS.map((h): [string, Region] => [h, 'EU']),
]);

/** The first marketplace of the region in the table (US, UK, JP): for rows whose marketplace is not known. */
export function defaultMarketplace(region: Region): Marketplace {
  const found = [...MARKETPLACES.values()].find((m) => m.region === region);
  if (found === undefined) throw new Error(`no marketplace for region ${region}`);
  return found;
}

export function isRegion(value: string): value is Region {
  return (REGIONS as readonly string[]).includes(value);
}
