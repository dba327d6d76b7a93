import { describe, expect, it } from 'vitest';
import { findMarketplace, isRegion, MARKETPLACE_CODES, MARKETPLACES, REGIONS, type Marketplace } from '../../../src/credentials/index.js';
import { buildConsentUrl, type ConsentUrlInput } from '../../../src/authorization/consentUrl.js';

/** Written out independently from the facts file, §5 (Seller Central hosts). */
const EXPECTED: Record<string, readonly [region: 'NA' | 'EU' | 'FE', host: string]> = {
  US: ['NA', 'sellercentral.amazon.com'],
  CA: ['NA', 'sellercentral.amazon.ca'],
  MX: ['NA', 'sellercentral.amazon.com.mx'],
  BR: ['NA', 'sellercentral.amazon.com.br'],
  UK: ['EU', 'sellercentral-europe.amazon.com'],
  DE: ['EU', 'sellercentral-europe.amazon.com'],
  FR: ['EU', 'sellercentral-europe.amazon.com'],
  IT: ['EU', 'sellercentral-europe.amazon.com'],
  ES: ['EU', 'sellercentral-europe.amazon.com'],
  NL: ['EU', 'sellercentral.amazon.nl'],
  SE: ['EU', 'sellercentral.amazon.se'],
  PL: ['EU', 'sellercentral.amazon.pl'],
  TR: ['EU', 'sellercentral.amazon.com.tr'],
  AE: ['EU', 'sellercentral.amazon.ae'],
  IN: ['EU', 'sellercentral.amazon.in'],
  BE: ['EU', 'sellercentral.amazon.com.be'],
  EG: ['EU', 'sellercentral.amazon.eg'],
  SA: ['EU', 'sellercentral.amazon.sa'],
  IE: ['EU', 'sellercentral.amazon.ie'],
  ZA: ['EU', 'sellercentral.amazon.co.za'],
  JP: ['FE', 'sellercentral.amazon.co.jp'],
  AU: ['FE', 'sellercentral.amazon.com.au'],
  SG: ['FE', 'sellercentral.amazon.sg'],
};

const APP_ID = 'amzn1.sp.solution.3f1c2e4d-0000-4b5a-9c8d-1234567890ab';
const STATE = 'ab-_CD0123456789ab-_CD0123456789ab-_CD01234';
const REDIRECT = 'https://auth.shipica.example/api/callback';

function input(marketplace: Marketplace, overrides: Partial<ConsentUrlInput> = {}): ConsentUrlInput {
  return { marketplace, applicationId: APP_ID, state: STATE, redirectUri: REDIRECT, draftApp: false, sellerCentralUrl: undefined, ...overrides };
}

function mp(code: string): Marketplace {
  const found = findMarketplace(code);
  if (found === undefined) throw new Error(`no marketplace ${code}`);
  return found;
}

describe('marketplace table', () => {
  it('holds exactly the marketplaces of the facts file', () => {
    expect([...MARKETPLACE_CODES].sort()).toEqual(Object.keys(EXPECTED).sort());
    expect(MARKETPLACES.size).toBe(23);
  });

  it('regions are NA, EU, FE', () => {
    expect(REGIONS).toEqual(['NA', 'EU', 'FE']);
    expect(isRegion('EU')).toBe(true);
    expect(isRegion('eu')).toBe(false);
    expect(isRegion('US')).toBe(false);
  });

  it('findMarketplace is exact (case-sensitive) and undefined for unknown codes', () => {
    expect(findMarketplace('de')).toBeUndefined();
    expect(findMarketplace('GB')).toBeUndefined();
    expect(findMarketplace('')).toBeUndefined();
  });
});

describe('consent URL for every marketplace', () => {
  it.each(Object.entries(EXPECTED))('%s → region and Seller Central host from the facts file', (code, [region, host]) => {
    const marketplace = mp(code);
    expect(marketplace.code).toBe(code);
    expect(marketplace.region).toBe(region);
    expect(marketplace.sellerCentralHost).toBe(host);

    const url = buildConsentUrl(input(marketplace));
    const expected = `https://${host}/apps/authorize/consent?application_id=${encodeURIComponent(APP_ID)}&state=${STATE}&redirect_uri=${encodeURIComponent(REDIRECT)}`;
    expect(url).toBe(expected);
    const parsed = new URL(url);
    expect(parsed.protocol).toBe('https:');
    expect(parsed.host).toBe(host);
    expect(parsed.pathname).toBe('/apps/authorize/consent');
    expect([...parsed.searchParams.entries()]).toEqual([
      ['application_id', APP_ID],
      ['state', STATE],
      ['redirect_uri', REDIRECT],
    ]);
    expect(url.split('?')).toHaveLength(2);
  });

  it.each(MARKETPLACE_CODES.map((c) => [c]))('%s appends version=beta last only for a Draft app', (code) => {
    const draft = new URL(buildConsentUrl(input(mp(code), { draftApp: true })));
    expect([...draft.searchParams.keys()]).toEqual(['application_id', 'state', 'redirect_uri', 'version']);
    expect(draft.searchParams.get('version')).toBe('beta');
    expect(draft.href.endsWith('&version=beta')).toBe(true);
    const published = new URL(buildConsentUrl(input(mp(code), { draftApp: false })));
    expect(published.searchParams.has('version')).toBe(false);
    expect(published.href).not.toContain('version');
  });
});

describe('consent URL encoding', () => {
  it('a redirect URI with its own query string and a state with - and _ survive', () => {
    const redirectUri = 'https://auth.shipica.example/api/callback?tenant=a&x=1%202&version=beta';
    const state = '-_-_abcXYZ0123456789-_-_abcXYZ0123456789___';
    const url = buildConsentUrl(input(mp('US'), { redirectUri, state, draftApp: true }));
    expect(url.split('?')).toHaveLength(2);
    const parsed = new URL(url);
    expect(parsed.searchParams.getAll('redirect_uri')).toEqual([redirectUri]);
    expect(parsed.searchParams.getAll('state')).toEqual([state]);
    expect(parsed.searchParams.getAll('version')).toEqual(['beta']);
    expect(parsed.searchParams.getAll('tenant')).toEqual([]);
    expect(parsed.searchParams.getAll('x')).toEqual([]);
    expect(url).toContain(`state=${state}&`);
    expect(url).toContain(`redirect_uri=${encodeURIComponent(redirectUri).replace(/%20/g, '+')}`);
  });

  it('sellerCentralUrl override replaces the origin and keeps the path', () => {
    const url = buildConsentUrl(input(mp('JP'), { sellerCentralUrl: 'http://localhost:7071', draftApp: true }));
    expect(url).toBe(
      `http://localhost:7071/apps/authorize/consent?application_id=${encodeURIComponent(APP_ID)}&state=${STATE}&redirect_uri=${encodeURIComponent(REDIRECT)}&version=beta`,
    );
    const parsed = new URL(url);
    expect(parsed.origin).toBe('http://localhost:7071');
    expect(parsed.host).not.toContain('amazon');
    expect(url.split('?')).toHaveLength(2);
  });

  it('sellerCentralUrl override with a path prefix keeps the prefix', () => {
    const url = new URL(buildConsentUrl(input(mp('DE'), { sellerCentralUrl: 'http://127.0.0.1:7071/sandbox' })));
    expect(url.origin).toBe('http://127.0.0.1:7071');
    expect(url.pathname).toBe('/sandbox/apps/authorize/consent');
  });
});
