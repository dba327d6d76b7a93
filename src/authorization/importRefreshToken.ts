import { MAX_REFRESH_TOKEN_LENGTH } from '../lwa/tokenResponse.js';
import { findMarketplace, type Clock, type CredentialScope, type Logger, type OpsStore } from '../credentials/index.js';
import { isVendorId, lastFour, SELLING_PARTNER_ID_PATTERN } from './identifiers.js';
import type { TokenCipher } from '../crypto/tokenCipher.js';
import type { LwaClient } from '../lwa/lwaClient.js';
import { marketplaceIdentity } from '../spapi/marketplaceIds.js';
import type { SellersClient } from '../spapi/sellersClient.js';

/**
 * `npm run ops -- import-refresh-token`: a seller who self-authorized a private app in Seller Central (Develop Apps >
 * Authorize) hands over the refresh token Amazon showed them; this makes it an authorization like any other. The
 * token is checked for shape, proven with one refresh_token grant at LWA, and the seller's marketplaces are read with
 * SP-API marketplaceParticipations; only then is it encrypted and stored as `authorized`, with a `self_authorization`
 * attempt and a granted event. The token never appears in a result, a log line or an error.
 */
export interface ImportDeps {
  store: OpsStore;
  lwa: LwaClient;
  cipher: TokenCipher;
  sellers: SellersClient;
  clock: Clock;
  logger: Logger;
  /** How long the one LWA grant may take, in ms. */
  lwaTimeoutMs: number;
}

export interface ImportRequest {
  customerId: string;
  marketplace: string;
  /** SP-API answers no seller id to a token: it must be given (Seller Central > Settings > Account Info > Merchant Token). */
  sellingPartnerId: string | undefined;
  refreshToken: string;
}

export type ImportResult =
  | { ok: true; scope: CredentialScope; sellingPartnerId: string; countryCodes: string[]; storeName: string | null; verified: boolean; event: 'authorization.granted' | 'authorization.reauthorized' }
  | { ok: false; reason: ImportRefusal; message: string };

export type ImportRefusal =
  | 'marketplace_unknown'
  | 'token_malformed'
  | 'selling_partner_id_required'
  | 'selling_partner_id_invalid'
  | 'vendor_not_supported'
  | 'token_rejected'
  | 'lwa_client_rejected'
  | 'lwa_unavailable'
  | 'marketplace_not_participating'
  | 'partner_changed'
  | 'partner_conflict'
  | 'token_in_use';

/**
 * LWA refresh tokens start with `Atzr|` and are printable ASCII without spaces; the longest the store can hold sealed
 * is MAX_REFRESH_TOKEN_LENGTH. A pasted line with a stray space, a client secret or an access token (`Atza|`) fails.
 */
export const REFRESH_TOKEN_SHAPE = /^Atzr\|[\x21-\x7e]{16,}$/;
export const REFRESH_TOKEN_PREFIX = 'Atzr|';

export function isRefreshTokenShaped(token: string): boolean {
  return token.length <= MAX_REFRESH_TOKEN_LENGTH && REFRESH_TOKEN_SHAPE.test(token);
}

export async function importRefreshToken(deps: ImportDeps, request: ImportRequest): Promise<ImportResult> {
  const refuse = (reason: ImportRefusal, message: string): ImportResult => ({ ok: false, reason, message });
  const market = findMarketplace(request.marketplace);
  // What was typed is not repeated: a value pasted in the wrong place may be the token itself.
  if (market === undefined) return refuse('marketplace_unknown', 'unknown marketplace: give a code such as US, CA, DE, UK, JP');
  if (!isRefreshTokenShaped(request.refreshToken)) {
    return refuse('token_malformed', 'that is not an LWA refresh token (it starts with Atzr| and has no spaces): nothing was sent or stored');
  }
  const sellingPartnerId = request.sellingPartnerId;
  if (sellingPartnerId === undefined) {
    return refuse('selling_partner_id_required', 'give --selling-partner-id (Seller Central > Settings > Account Info > Merchant Token): SP-API does not name the seller of a token');
  }
  if (!SELLING_PARTNER_ID_PATTERN.test(sellingPartnerId)) return refuse('selling_partner_id_invalid', '--selling-partner-id is not a seller id (letters and digits)');
  if (isVendorId(sellingPartnerId)) return refuse('vendor_not_supported', "a vendor id: Shipica's app is a seller app");

  const { region, scope } = market;
  const now = deps.clock.now();
  const grant = await deps.lwa.refreshAccessToken({ refreshToken: request.refreshToken, deadline: new Date(now.getTime() + deps.lwaTimeoutMs) });
  if (!grant.ok) {
    switch (grant.failure.kind) {
      case 'invalid_grant':
        return refuse('token_rejected', 'LWA refused the refresh token (invalid_grant): it was revoked, or made for another app; nothing was stored');
      case 'invalid_client':
        return refuse('lwa_client_rejected', "LWA refused this service's client id or secret (invalid_client): a private app's token works only with that app's LWA credentials");
      default:
        return refuse('lwa_unavailable', 'LWA did not answer as expected; nothing was stored: try again');
    }
  }

  const participations = await deps.sellers.marketplaceParticipations(region, grant.value.accessToken);
  let countryCodes: string[] = [];
  let storeName: string | null = null;
  let verified = false;
  if (participations.kind === 'ok') {
    const participating = participations.participations.filter((p) => p.isParticipating);
    countryCodes = participating.map((p) => p.countryCode);
    storeName = participating.find((p) => p.storeName !== null)?.storeName ?? null;
    const expected = marketplaceIdentity(market.code);
    if (expected === undefined || !participating.some((p) => p.marketplaceId === expected.marketplaceId)) {
      return refuse(
        'marketplace_not_participating',
        `SP-API says this seller does not sell in ${market.code} (${region}); it sells in ${countryCodes.join(', ') || 'no marketplace'}: nothing was stored`,
      );
    }
    verified = true;
  } else {
    // The token works (LWA proved it); SP-API could not say where the seller sells. Stored, and said so.
    deps.logger.warn('import-refresh-token: marketplaces not verified', { outcome: participations.kind });
  }

  const before = await deps.store.findCredential(request.customerId, scope);
  const stored = await deps.store.importRefreshToken({
    customerId: request.customerId,
    scope,
    marketplace: market.code,
    sellingPartnerId,
    encryptedRefreshToken: deps.cipher.encrypt(request.refreshToken, { column: 'lwa_refresh_token', customerId: request.customerId, region }),
    refreshTokenFingerprint: deps.cipher.fingerprint(request.refreshToken),
    fingerprints: deps.cipher.fingerprints(request.refreshToken),
    now: deps.clock.now(),
  });
  if (stored === 'token_in_use') {
    return refuse('token_in_use', 'this refresh token is already stored for another Shipica credential (another customer, scope or seller): one token authorizes one credential; nothing was stored');
  }
  if (stored === 'partner_changed') {
    const linked = before?.sellingPartnerId ?? '';
    return refuse(
      'partner_changed',
      `customer ${request.customerId} is authorized in ${scope} for another seller (…${lastFour(linked)}), not …${lastFour(sellingPartnerId)}: unlink it first (npm run ops -- unlink); nothing was stored`,
    );
  }
  if (stored === 'partner_conflict') {
    return refuse('partner_conflict', `seller …${lastFour(sellingPartnerId)} is authorized for another customer in ${scope}: nothing was stored`);
  }
  return {
    ok: true,
    scope,
    sellingPartnerId,
    countryCodes,
    storeName,
    verified,
    event: before?.status === 'authorized' ? 'authorization.reauthorized' : 'authorization.granted',
  };
}
