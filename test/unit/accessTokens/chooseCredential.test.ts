import { describe, expect, it } from 'vitest';
import { chooseCredential } from '../../../src/accessTokens/requestedCredential.js';
import { regionOfScope, type CredentialScope, type CredentialStatus, type CredentialSummary } from '../../../src/credentials/index.js';

function row(scope: CredentialScope, status: CredentialStatus, customerId = 'cust-1'): CredentialSummary {
  return {
    customerId,
    scope,
    region: regionOfScope(scope),
    marketplace: null,
    sellingPartnerId: 'A1SELLER',
    status,
    lastError: null,
    authRequestedDate: null,
    authGrantedDate: null,
    lwaRefreshTokenDate: null,
    revokedAt: null,
    updatedAt: new Date('2026-03-02T10:00:00.000Z'),
    hasRefreshToken: status === 'authorized',
  };
}

describe('chooseCredential', () => {
  it('picks the one authorized row when no region is named', () => {
    expect(chooseCredential({ customerId: 'cust-1' }, [row('NA', 'failed'), row('EU', 'authorized')])).toEqual({ ok: true, customerId: 'cust-1', scope: 'EU' });
  });

  it('picks the row of the region named, for a seller id too', () => {
    expect(chooseCredential({ sellingPartnerId: 'A1SELLER', region: 'NA' }, [row('NA', 'authorized', 'cust-2'), row('EU', 'authorized')])).toEqual({ ok: true, customerId: 'cust-2', scope: 'NA' });
  });

  it('asks for a region when several are authorized', () => {
    expect(chooseCredential({ customerId: 'cust-1' }, [row('NA', 'authorized'), row('EU', 'authorized')])).toEqual({
      ok: false,
      error: 'region_required',
      message: 'Customer cust-1 has 2 Amazon authorizations (NA, EU): name one with ?region=NA|EU.',
    });
  });

  it('asks for a marketplace when the Far East named holds several, and picks the one a marketplace names', () => {
    const rows = [row('JP', 'authorized'), row('AU', 'authorized'), row('NA', 'authorized')];
    expect(chooseCredential({ customerId: 'cust-1', region: 'FE' }, rows)).toEqual({
      ok: false,
      error: 'marketplace_required',
      message: 'Customer cust-1 has 2 Amazon authorizations in FE (JP, AU): name one with ?marketplace=JP|AU.',
    });
    expect(chooseCredential({ customerId: 'cust-1', region: 'FE', scope: 'AU' }, rows)).toEqual({ ok: true, customerId: 'cust-1', scope: 'AU' });
  });

  it('answers revoked when a row of the region was revoked', () => {
    const choice = chooseCredential({ sellingPartnerId: 'A1SELLER', region: 'EU' }, [row('EU', 'revoked'), row('NA', 'authorized')]);
    expect(choice).toMatchObject({ ok: false, error: 'authorization_revoked' });
    expect(choice.ok === false && choice.message).toMatch(/^Seller A1SELLER's Amazon authorization in EU was revoked by the seller or has lapsed\. The seller must re-authorize Shipica/);
  });

  it('answers not_authorized with the statuses it found, or none', () => {
    expect(chooseCredential({ customerId: 'cust-1' }, [row('NA', 'pending'), row('EU', 'failed')])).toEqual({
      ok: false,
      error: 'not_authorized',
      message: 'Customer cust-1 has no Amazon authorization. Its status is pending (NA), failed (EU).',
    });
    expect(chooseCredential({ customerId: 'cust-1', region: 'FE' }, [row('NA', 'authorized')])).toEqual({
      ok: false,
      error: 'not_authorized',
      message: 'Customer cust-1 has no Amazon authorization in FE.',
    });
  });
});
