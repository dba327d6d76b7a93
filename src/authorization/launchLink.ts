import { createHmac, timingSafeEqual } from 'node:crypto';
import { findMarketplace, type Marketplace } from '../credentials/index.js';
import { AMAZON_STATE_PATTERN, SELLING_PARTNER_ID_PATTERN } from './identifiers.js';

/**
 * Launch links: how oxWebApp sends a logged-in customer's browser to AuthorizeStart.
 *
 *   /api/authorize?customer_id=<id>&marketplace=<code>&expires=<unix seconds>&sig=<sig>
 *   message = new URLSearchParams({ customer_id, marketplace, expires }).toString()   (this order)
 *   sig     = base64url, no padding, of HMAC-SHA256(key = UTF-8 of LAUNCH_LINK_SECRET, message)
 *
 * After an Appstore install (Amazon → our Login URI → oxWebApp), the link also carries what Amazon sent, and the
 * message continues, in this order: amazon_callback_uri, amazon_state, selling_partner_id[, version].
 */
export const LAUNCH_LINK_PATH = '/api/authorize';
export const MAX_LINK_LIFETIME_SECONDS = 3600;
export const MAX_CUSTOMER_ID_LENGTH = 64;

/** What Amazon sent to the Login URI, passed through oxWebApp and back. */
export interface AppstoreFields {
  amazonCallbackUri: string;
  amazonState: string;
  sellingPartnerId: string;
  /** `beta` for Draft apps, when Amazon sent it. */
  version?: string | undefined;
}

export interface LaunchLinkFields {
  customerId: string;
  marketplace: string;
  /** Unix seconds after which the link is refused. */
  expires: number;
  appstore?: AppstoreFields | undefined;
}

export interface VerifiedLaunchLink {
  customerId: string;
  marketplace: Marketplace;
  expires: number;
  appstore: AppstoreFields | undefined;
}

export type LaunchLinkProblem =
  | 'link_incomplete'
  | 'signature_missing'
  | 'signature_invalid'
  | 'expires_invalid'
  | 'link_expired'
  | 'expires_too_far'
  | 'marketplace_unknown'
  | 'customer_id_invalid'
  | 'appstore_fields_invalid';

const SIGNED_FIELDS = ['customer_id', 'marketplace', 'expires'] as const;
const APPSTORE_FIELDS = ['amazon_callback_uri', 'amazon_state', 'selling_partner_id'] as const;

/** The signed message: the fields, in their fixed order, form-encoded as URLSearchParams does. */
export function launchLinkMessage(fields: LaunchLinkFields): string {
  return messageOf(fields.customerId, fields.marketplace, String(fields.expires), fields.appstore);
}

/** `expires` as text: verification signs exactly what arrived, before judging it a number. */
function messageOf(customerId: string, marketplace: string, expires: string, appstore: AppstoreFields | undefined): string {
  const pairs: Array<[string, string]> = [
    ['customer_id', customerId],
    ['marketplace', marketplace],
    ['expires', expires],
  ];
  if (appstore !== undefined) {
    pairs.push(['amazon_callback_uri', appstore.amazonCallbackUri], ['amazon_state', appstore.amazonState], ['selling_partner_id', appstore.sellingPartnerId]);
    if (appstore.version !== undefined) pairs.push(['version', appstore.version]);
  }
  return new URLSearchParams(pairs).toString();
}

export function signLaunchLink(fields: LaunchLinkFields, secret: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(launchLinkMessage(fields), 'utf8').digest('base64url');
}

/** A full signed URL, e.g. for `npm run launch-link` and the sandbox start page (playing oxWebApp). */
export function buildLaunchLink(baseUrl: string, fields: LaunchLinkFields, secret: string): string {
  const url = new URL(LAUNCH_LINK_PATH, baseUrl);
  url.search = `${launchLinkMessage(fields)}&sig=${signLaunchLink(fields, secret)}`;
  return url.toString();
}

export function verifyLaunchLink(
  query: URLSearchParams,
  secret: string,
  nowSeconds: number,
): { ok: true; link: VerifiedLaunchLink } | { ok: false; problem: LaunchLinkProblem } {
  // A repeated field would make "which value was signed" ambiguous.
  for (const name of SIGNED_FIELDS) {
    if (query.getAll(name).length !== 1) return { ok: false, problem: 'link_incomplete' };
  }
  const sigCount = query.getAll('sig').length;
  if (sigCount !== 1) return { ok: false, problem: sigCount === 0 ? 'signature_missing' : 'link_incomplete' };
  const appstoreCounts = APPSTORE_FIELDS.map((name) => query.getAll(name).length);
  const withAppstore = appstoreCounts.some((n) => n > 0);
  if ((withAppstore && appstoreCounts.some((n) => n !== 1)) || query.getAll('version').length > (withAppstore ? 1 : 0)) {
    return { ok: false, problem: 'link_incomplete' };
  }
  const customerId = query.get('customer_id') ?? '';
  const marketplaceCode = query.get('marketplace') ?? '';
  const expiresText = query.get('expires') ?? '';
  const sig = query.get('sig') ?? '';
  const appstore: AppstoreFields | undefined = withAppstore
    ? {
        amazonCallbackUri: query.get('amazon_callback_uri') ?? '',
        amazonState: query.get('amazon_state') ?? '',
        sellingPartnerId: query.get('selling_partner_id') ?? '',
        version: query.get('version') ?? undefined,
      }
    : undefined;

  const message = messageOf(customerId, marketplaceCode, expiresText, appstore);
  const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(message, 'utf8').digest();
  const given = /^[A-Za-z0-9_-]{43}$/.test(sig) ? Buffer.from(sig, 'base64url') : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, problem: 'signature_invalid' };
  }

  if (!/^\d{1,12}$/.test(expiresText)) return { ok: false, problem: 'expires_invalid' };
  const expires = Number(expiresText);
  if (expires <= nowSeconds) return { ok: false, problem: 'link_expired' };
  if (expires > nowSeconds + MAX_LINK_LIFETIME_SECONDS) return { ok: false, problem: 'expires_too_far' };

  const marketplace = findMarketplace(marketplaceCode);
  if (marketplace === undefined) return { ok: false, problem: 'marketplace_unknown' };
  if (!isValidCustomerId(customerId)) return { ok: false, problem: 'customer_id_invalid' };
  if (appstore !== undefined && !validAppstoreFields(appstore)) return { ok: false, problem: 'appstore_fields_invalid' };
  return { ok: true, link: { customerId, marketplace, expires, appstore } };
}

/** Shapes only; whether the callback URI is an Amazon one is the use case's check. */
function validAppstoreFields(fields: AppstoreFields): boolean {
  return (
    fields.amazonCallbackUri.length > 0 &&
    fields.amazonCallbackUri.length <= 2048 &&
    AMAZON_STATE_PATTERN.test(fields.amazonState) &&
    SELLING_PARTNER_ID_PATTERN.test(fields.sellingPartnerId) &&
    (fields.version === undefined || fields.version === 'beta')
  );
}

/**
 * Length in UTF-16 code units, which is what the NVARCHAR(64) column counts. No leading or trailing white space:
 * SQL Server compares 'a' and 'a ' as equal, so such ids could not be told apart there. No control characters (Cc)
 * and no format characters (Cf: bidi overrides such as U+202E, zero-width characters), which would make one id look
 * like another in ops tables and pages.
 */
export function isValidCustomerId(value: string): boolean {
  return value.length > 0 && value.length <= MAX_CUSTOMER_ID_LENGTH && value === value.trim() && !/[\p{Cc}\p{Cf}]/u.test(value);
}
