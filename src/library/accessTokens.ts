import type { AccessTokenErrorCode, AccessTokenRequest } from '../accessTokens/accessTokenResult.js';
import { findMarketplace, type CredentialScope, type Region } from '../credentials/index.js';
import { processApp, type App } from '../app.js';

/**
 * Access tokens for Node code running beside this service (same settings, same store):
 *
 *   import { getAccessToken } from 'sp-api-seller-auth/access-tokens';
 *   const { accessToken } = await getAccessToken({ customerId: '42', region: 'EU' });
 *   const japan = await getAccessToken({ customerId: '47', marketplace: 'JP' }); // the Far East: one per marketplace
 *   // call SP-API with header  x-amz-access-token: accessToken
 *
 * Failures throw AccessTokenError with the same codes as the HTTP endpoint.
 */
export interface SellerAccessToken {
  accessToken: string;
  expiresAt: Date;
  customerId: string;
  sellingPartnerId: string;
  /** The credential: the region in NA and EU, the marketplace (JP, AU, SG) in the Far East. */
  scope: CredentialScope;
  region: Region;
}

/** Which of a customer's (or seller's) credentials: a region (NA, EU), a marketplace (JP, AU, SG name the Far East's), or the only one. */
export interface CredentialSelector {
  region?: Region;
  marketplace?: string;
  forceRefresh?: boolean;
}

export class AccessTokenError extends Error {
  override readonly name = 'AccessTokenError';
  constructor(
    readonly code: AccessTokenErrorCode | 'not_configured' | 'invalid_request',
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export interface AccessTokenClient {
  getAccessToken(request: { customerId: string } & CredentialSelector): Promise<SellerAccessToken>;
  getSellerAccessToken(request: { sellingPartnerId: string } & CredentialSelector): Promise<SellerAccessToken>;
}

export function createAccessTokenClient(app: App): AccessTokenClient {
  const get = async (request: ({ customerId: string } | { sellingPartnerId: string }) & CredentialSelector): Promise<SellerAccessToken> => {
    const { marketplace, ...rest } = request;
    const found = marketplace === undefined ? undefined : findMarketplace(marketplace.toUpperCase());
    if (marketplace !== undefined && found === undefined) throw new AccessTokenError('invalid_request', 'marketplace must be a marketplace code such as US, DE, JP, AU or SG.');
    if (found !== undefined && request.region !== undefined && found.region !== request.region) {
      throw new AccessTokenError('invalid_request', `marketplace ${found.code} is in ${found.region}, not ${request.region}.`);
    }
    const state = await app.state();
    if (!state.ok) throw new AccessTokenError('not_configured', `sp-api-seller-auth is not configured: ${state.problems.join(' ')}`);
    const asked: AccessTokenRequest = { ...rest, scope: found?.scope };
    const result = await state.services.accessTokens.get(asked);
    if (!result.ok) throw new AccessTokenError(result.error, result.message, result.retryAfterSeconds);
    return { ...result.token };
  };
  return { getAccessToken: get, getSellerAccessToken: get };
}

let shared: AccessTokenClient | undefined;
const client = (): AccessTokenClient => (shared ??= createAccessTokenClient(processApp()));

/** A fresh access token for a customer's authorization (a region or marketplace needed only when it has several). */
export function getAccessToken(request: { customerId: string } & CredentialSelector): Promise<SellerAccessToken> {
  return client().getAccessToken(request);
}

/** The same, looked up by the seller's selling_partner_id. */
export function getSellerAccessToken(request: { sellingPartnerId: string } & CredentialSelector): Promise<SellerAccessToken> {
  return client().getSellerAccessToken(request);
}
