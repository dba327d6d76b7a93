import { describe, expect, it } from 'vitest';
import { findMarketplace, type Marketplace } from '../../../src/credentials/index.js';
import { amazonCallbackScope, isPathOnly, resolvePathOnly } from '../../../src/authorization/amazonCallback.js';

const market = (code: string): Marketplace => {
  const found = findMarketplace(code);
  if (found === undefined) throw new Error(code);
  return found;
};

describe('amazon_callback_uri', () => {
  it('allows Seller Central hosts only: Vendor Central hosts are not on the list', () => {
    expect(amazonCallbackScope('https://sellercentral.amazon.com/apps/authorize/confirm/x', undefined)).toBe('NA');
    expect(amazonCallbackScope('https://sellercentral-europe.amazon.com/apps/authorize/confirm/x', undefined)).toBe('EU');
    expect(amazonCallbackScope('https://sellercentral.amazon.co.jp/apps/authorize/confirm/x', undefined)).toBe('JP');
    expect(amazonCallbackScope('https://sellercentral.amazon.com.au/apps/authorize/confirm/x', undefined)).toBe('AU');
    expect(amazonCallbackScope('https://vendorcentral.amazon.com/apps/authorize/confirm/x', undefined)).toBeUndefined();
    expect(amazonCallbackScope('https://vendorcentral.amazon.de/apps/authorize/confirm/x', undefined)).toBeUndefined();
  });

  it.each([
    ['US', 'https://sellercentral.amazon.com/apps/authorize/confirm/amzn1.sp.solution.x'],
    ['DE', 'https://sellercentral-europe.amazon.com/apps/authorize/confirm/amzn1.sp.solution.x'],
    ['JP', 'https://sellercentral.amazon.co.jp/apps/authorize/confirm/amzn1.sp.solution.x'],
  ])('resolves a path only against the Seller Central of %s', (code, expected) => {
    expect(resolvePathOnly('/apps/authorize/confirm/amzn1.sp.solution.x', market(code), undefined)).toBe(expected);
  });

  it('resolves against the sandbox base and scope segment when SELLER_CENTRAL_URL is set', () => {
    expect(resolvePathOnly('/apps/authorize/confirm', market('DE'), 'http://localhost:7071/sandbox/sellercentral')).toBe(
      'http://localhost:7071/sandbox/sellercentral/eu/apps/authorize/confirm',
    );
    expect(resolvePathOnly('/apps/authorize/confirm', market('SG'), 'http://localhost:7071/sandbox/sellercentral')).toBe(
      'http://localhost:7071/sandbox/sellercentral/sg/apps/authorize/confirm',
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
