import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../../src/credentials/index.js';
import { isVendorId, lastFour, SELLING_PARTNER_ID_PATTERN } from '../../../src/authorization/identifiers.js';

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
