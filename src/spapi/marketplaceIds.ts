import { MARKETPLACES, type Region } from '../credentials/index.js';

/**
 * SP-API marketplace ids and the country code marketplaceParticipations reports for each of our marketplace codes
 * (Amazon's "Marketplace IDs" table; the UK reports GB). Kept beside, not inside, the marketplace table that drives
 * consent URLs, so that table's shape stays as other code reads it.
 */
const IDS: Readonly<Record<string, { marketplaceId: string; countryCode: string }>> = {
  US: { marketplaceId: 'ATVPDKIKX0DER', countryCode: 'US' },
  CA: { marketplaceId: 'A2EUQ1WTGCTBG2', countryCode: 'CA' },
  MX: { marketplaceId: 'A1AM78C64UM0Y8', countryCode: 'MX' },
  BR: { marketplaceId: 'A2Q3Y263D00KWC', countryCode: 'BR' },
  UK: { marketplaceId: 'A1F83G8C2ARO7P', countryCode: 'GB' },
  DE: { marketplaceId: 'A1PA6795UKMFR9', countryCode: 'DE' },
  FR: { marketplaceId: 'A13V1IB3VIYZZH', countryCode: 'FR' },
  IT: { marketplaceId: 'APJ6JRA9NG5V4', countryCode: 'IT' },
  ES: { marketplaceId: 'A1RKKUPIHCS9HS', countryCode: 'ES' },
  NL: { marketplaceId: 'A1805IZSGTT6HS', countryCode: 'NL' },
  SE: { marketplaceId: 'A2NODRKZP88ZB9', countryCode: 'SE' },
  PL: { marketplaceId: 'A1C3SOZRARQ6R3', countryCode: 'PL' },
  BE: { marketplaceId: 'AMEN7PMS3EDWL', countryCode: 'BE' },
  TR: { marketplaceId: 'A33AVAJ2PDY3EV', countryCode: 'TR' },
  AE: { marketplaceId: 'A2VIGQ35RCS4UG', countryCode: 'AE' },
  IN: { marketplaceId: 'A21TJRUUN4KGV', countryCode: 'IN' },
  EG: { marketplaceId: 'ARBP9OOSHTCHU', countryCode: 'EG' },
  SA: { marketplaceId: 'A17E79C6D8DWNP', countryCode: 'SA' },
  IE: { marketplaceId: 'A28R8C7NBKEWEA', countryCode: 'IE' },
  ZA: { marketplaceId: 'AE08WJ6YKNBMC', countryCode: 'ZA' },
  JP: { marketplaceId: 'A1VC38T7YXB528', countryCode: 'JP' },
  AU: { marketplaceId: 'A39IBJ37TRP1C6', countryCode: 'AU' },
  SG: { marketplaceId: 'A19VAU5U5O7RUS', countryCode: 'SG' },
};

export interface MarketplaceIdentity {
  code: string;
  region: Region;
  marketplaceId: string;
  countryCode: string;
}

/** Our marketplace code (US, UK, DE, …) → its SP-API identity; undefined for a code not in the table. */
export function marketplaceIdentity(code: string): MarketplaceIdentity | undefined {
  const market = MARKETPLACES.get(code);
  const ids = IDS[code];
  return market === undefined || ids === undefined ? undefined : { code, region: market.region, ...ids };
}

/** Every marketplace of a region, with its SP-API identity (the sandbox's participations). */
export function regionMarketplaces(region: Region): MarketplaceIdentity[] {
  return [...MARKETPLACES.values()]
    .filter((m) => m.region === region)
    .map((m) => marketplaceIdentity(m.code))
    .filter((m): m is MarketplaceIdentity => m !== undefined);
}

/** The region of an SP-API marketplace id; undefined for an id this table does not know (a new marketplace). */
export function regionOfMarketplaceId(marketplaceId: string): Region | undefined {
  const code = Object.entries(IDS).find(([, ids]) => ids.marketplaceId === marketplaceId)?.[0];
  return code === undefined ? undefined : MARKETPLACES.get(code)?.region;
}
