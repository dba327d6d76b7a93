import { describe, expect, it } from 'vitest';
import {
  appWideDenial,
  CENTRAL_HOST_SCOPES,
  CREDENTIAL_SCOPES,
  defaultMarketplace,
  isRevocationRecheckDue,
  MARKETPLACES,
  regionOfScope,
  REVOKED_RECHECK_DAYS,
  scopesOfRegion,
} from '../../../src/credentials/index.js';

const DAY_MS = 86_400_000;

describe('credential scopes', () => {
  it('is the region in NA and EU and the marketplace in the Far East, for every marketplace of the table', () => {
    for (const m of MARKETPLACES.values()) {
      expect(m.scope).toBe(m.region === 'FE' ? m.code : m.region);
      expect(regionOfScope(m.scope)).toBe(m.region);
    }
    expect(CREDENTIAL_SCOPES.flatMap((s) => (regionOfScope(s) === 'FE' ? [s] : []))).toEqual([...scopesOfRegion('FE')]);
    expect(scopesOfRegion('EU')).toEqual(['EU']);
  });

  it("tells the scope from a Seller Central host: each Far East host is its own marketplace's", () => {
    expect(CENTRAL_HOST_SCOPES.get('sellercentral.amazon.co.jp')).toBe('JP');
    expect(CENTRAL_HOST_SCOPES.get('sellercentral.amazon.com.au')).toBe('AU');
    expect(CENTRAL_HOST_SCOPES.get('sellercentral.amazon.sg')).toBe('SG');
    expect(CENTRAL_HOST_SCOPES.get('sellercentral.amazon.de')).toBe('EU');
    expect(CENTRAL_HOST_SCOPES.get('sellercentral.amazon.com')).toBe('NA');
    expect(CENTRAL_HOST_SCOPES.get('vendorcentral.amazon.co.jp')).toBeUndefined();
  });

  it('defaults a scope to its first marketplace', () => {
    expect(CREDENTIAL_SCOPES.map((s) => defaultMarketplace(s).code)).toEqual(['US', 'UK', 'JP', 'AU', 'SG']);
  });
});

describe('revocations proven again', () => {
  const revokedAt = new Date('2026-03-01T00:00:00.000Z');
  const row = { status: 'revoked' as const, hasRefreshToken: true, revokedAt };
  it(`are due for ${REVOKED_RECHECK_DAYS} days after LWA refused the token, and only while the row holds it`, () => {
    expect(isRevocationRecheckDue(row, new Date(revokedAt.getTime() + REVOKED_RECHECK_DAYS * DAY_MS))).toBe(true);
    expect(isRevocationRecheckDue(row, new Date(revokedAt.getTime() + REVOKED_RECHECK_DAYS * DAY_MS + 1))).toBe(false);
    expect(isRevocationRecheckDue({ ...row, hasRefreshToken: false }, revokedAt)).toBe(false);
    expect(isRevocationRecheckDue({ ...row, revokedAt: null }, revokedAt)).toBe(false);
    expect(isRevocationRecheckDue({ ...row, status: 'authorized' }, revokedAt)).toBe(false);
  });
});

describe('an app-wide SP-API denial', () => {
  it('is every seller answered being denied, two at least', () => {
    expect(appWideDenial({ answered: 2, denied: 2 })).toBe(true);
    expect(appWideDenial({ answered: 3, denied: 2 })).toBe(false);
    expect(appWideDenial({ answered: 1, denied: 1 })).toBe(false);
    expect(appWideDenial({ answered: 0, denied: 0 })).toBe(false);
  });
});
