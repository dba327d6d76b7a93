import { LIMITS } from '../store/credentialStore.js';

/** Amazon's identifiers as they reach us (callback, Login URI, launch links, URLs), checked the same way everywhere. */

/** A merchant token such as A3FHEXAMPLEYWS: letters and digits, within the column's length. */
export const SELLING_PARTNER_ID_PATTERN = new RegExp(`^[A-Za-z0-9]{1,${LIMITS.sellingPartnerId}}$`);

/** Amazon's opaque `amazon_state` from the Login URI: printable ASCII, bounded. */
export const AMAZON_STATE_PATTERN = /^[\x21-\x7e]{1,1024}$/;
