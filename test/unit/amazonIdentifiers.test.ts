import { describe, expect, it } from 'vitest';
import { statusCaseSql } from '../../src/store/sql/statusCase.js';
import { findMarketplace, LIMITS, nextStatus, STATUS_CHANGES, type Marketplace } from '../../src/credentials/index.js';
import { amazonCallbackRegion, isPathOnly, resolvePathOnly } from '../../src/authorization/amazonCallback.js';
import { isVendorId, lastFour, SELLING_PARTNER_ID_PATTERN } from '../../src/authorization/identifiers.js';

const market = (code: string): Marketplace => {
  const found = findMarketplace(code);
  if (found === undefined) throw new Error(code);
  return found;
};

describe('selling partner ids', () => {
  it.each(['A3FHEXAMPLEYWS', 'a1b2', 'A'.repeat(LIMITS.sellingPartnerId), 'amzn1.vg.1234567', `amzn1.vg.${'9'.repeat(LIMITS.sellingPartnerId - 9)}`])(
    'accepts %s',
    (id) => {
      expect(SELLING_PARTNER_ID_PATTERN.test(id)).toBe(true);
    },
  );

  it.each(['', 'A'.repeat(LIMITS.sellingPartnerId + 1), `amzn1.vg.${'9'.repeat(LIMITS.sellingPartnerId - 8)}`, 'amzn1.vg.', 'amzn1.vg.12.3', 'amzn1.sp.1234', 'A1<script>', 'A1 B'])(
    'refuses %j',
    (id) => {
      expect(SELLING_PARTNER_ID_PATTERN.test(id)).toBe(false);
    },
  );

  it('tells vendor groups from sellers', () => {
    expect(isVendorId('amzn1.vg.1234567')).toBe(true);
    expect(isVendorId('A3FHEXAMPLEYWS')).toBe(false);
    expect(lastFour('A3FHEXAMPLEYWS')).toBe('EYWS');
  });
});

describe('amazon_callback_uri', () => {
  it('allows Seller Central hosts only: Vendor Central hosts are not on the list', () => {
    expect(amazonCallbackRegion('https://sellercentral.amazon.com/apps/authorize/confirm/x', undefined)).toBe('NA');
    expect(amazonCallbackRegion('https://sellercentral-europe.amazon.com/apps/authorize/confirm/x', undefined)).toBe('EU');
    expect(amazonCallbackRegion('https://vendorcentral.amazon.com/apps/authorize/confirm/x', undefined)).toBeUndefined();
    expect(amazonCallbackRegion('https://vendorcentral.amazon.de/apps/authorize/confirm/x', undefined)).toBeUndefined();
  });

  it.each([
    ['US', 'https://sellercentral.amazon.com/apps/authorize/confirm/amzn1.sp.solution.x'],
    ['DE', 'https://sellercentral-europe.amazon.com/apps/authorize/confirm/amzn1.sp.solution.x'],
    ['JP', 'https://sellercentral.amazon.co.jp/apps/authorize/confirm/amzn1.sp.solution.x'],
  ])('resolves a path only against the Seller Central of %s', (code, expected) => {
    expect(resolvePathOnly('/apps/authorize/confirm/amzn1.sp.solution.x', market(code), undefined)).toBe(expected);
  });

  it('resolves against the sandbox base and region segment when SELLER_CENTRAL_URL is set', () => {
    expect(resolvePathOnly('/apps/authorize/confirm', market('DE'), 'http://localhost:7071/sandbox/sellercentral')).toBe(
      'http://localhost:7071/sandbox/sellercentral/eu/apps/authorize/confirm',
    );
  });

  it.each(['//evil.example/x', '/\\evil.example', 'https://sellercentral.amazon.com/x', 'apps/authorize', '', '/a b', `/${'a'.repeat(2048)}`])(
    'never resolves %j to another origin (not a path only)',
    (value) => {
      expect(isPathOnly(value)).toBe(false);
      expect(resolvePathOnly(value, market('US'), undefined)).toBeUndefined();
    },
  );

  it('keeps a query on the path and stays on the origin', () => {
    const resolved = resolvePathOnly('/apps/authorize/confirm/x?lang=de_DE', market('US'), undefined);
    expect(resolved).toBe('https://sellercentral.amazon.com/apps/authorize/confirm/x?lang=de_DE');
  });
});

describe('STATUS_CHANGES as SQL', () => {
  it('writes one WHEN per change and leaves unlisted pairs to ELSE status', () => {
    expect(statusCaseSql('revoked')).toBe("CASE status WHEN 'authorized' THEN 'revoked' ELSE status END");
    expect(statusCaseSql('failed')).toBe("CASE status WHEN 'pending' THEN 'failed' WHEN 'revoked' THEN 'failed' WHEN 'unlinked' THEN 'failed' ELSE status END");
  });

  it('never lets a failure take a working token away, and nothing but an outcome is an event', () => {
    expect(nextStatus('authorized', 'failed')).toBe('authorized');
    expect(Object.keys(STATUS_CHANGES).sort()).toEqual(['failed', 'revoked', 'succeeded', 'unlinked']);
  });
});
