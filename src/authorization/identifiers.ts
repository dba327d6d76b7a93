import { LIMITS } from '../credentials/index.js';

/** Amazon's identifiers as they reach us (callback, Login URI, launch links, URLs), checked the same way everywhere. */

/** A seller's merchant token, such as A3FHEXAMPLEYWS: letters and digits, within the column's length. */
const SELLER_ID = `[A-Za-z0-9]{1,${LIMITS.sellingPartnerId}}`;
/** A vendor group, such as amzn1.vg.1234567 (Vendor Central accounts), within the column's length. */
const VENDOR_ID = `amzn1\\.vg\\.[A-Za-z0-9]{1,${LIMITS.sellingPartnerId - 'amzn1.vg.'.length}}`;

/** Every selling_partner_id Amazon sends: a seller's merchant token or a vendor group id. */
export const SELLING_PARTNER_ID_PATTERN = new RegExp(`^(?:${SELLER_ID}|${VENDOR_ID})$`);

const VENDOR_ID_PATTERN = new RegExp(`^${VENDOR_ID}$`);

/** Shipica's app is a seller app: a vendor id is understood, and refused as vendor_not_supported. */
export function isVendorId(sellingPartnerId: string): boolean {
  return VENDOR_ID_PATTERN.test(sellingPartnerId);
}

/** Amazon's opaque `amazon_state` from the Login URI: printable ASCII, bounded. */
export const AMAZON_STATE_PATTERN = /^[\x21-\x7e]{1,1024}$/;

/** The last four characters of a seller id, for pages: enough for a seller to recognise an account. */
export function lastFour(sellingPartnerId: string): string {
  return sellingPartnerId.slice(-4);
}
