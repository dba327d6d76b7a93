import type { AccessTokenErrorCode, AccessTokenRequest } from '../accessTokens/accessTokenResult.js';
import type { Region } from '../credentials/index.js';
import { processApp, type App } from '../app.js';

/**
 * Access tokens for Node code running beside this service (same settings, same store):
 *
 *   import { getAccessToken } from 'sp-api-seller-auth/access-tokens';
 *   const { accessToken } = await getAccessToken({ customerId: '42', region: 'EU' });
 *   // call SP-API with header  x-amz-access-token: accessToken
 *
 * Failures throw AccessTokenError with the same codes as the HTTP endpoint.
 */
export interface SellerAccessToken {
  accessToken: string;
  expiresAt: Date;
  customerId: string;
  sellingPartnerId: string;
  region: Region;
}

export class AccessTokenError extends Error {
  override readonly name = 'AccessTokenError';
  constructor(
    readonly code: AccessTokenErrorCode | 'not_configured',
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export interface AccessTokenClient {
  getAccessToken(request: { customerId: string; region?: Region; forceRefresh?: boolean }): Promise<SellerAccessToken>;
  getSellerAccessToken(request: { sellingPartnerId: string; region?: Region; forceRefresh?: boolean }): Promise<SellerAccessToken>;
}

export function createAccessTokenClient(app: App): AccessTokenClient {
  const get = async (request: AccessTokenRequest): Promise<SellerAccessToken> => {
    const state = await app.state();
    if (!state.ok) throw new AccessTokenError('not_configured', `sp-api-seller-auth is not configured: ${state.problems.join(' ')}`);
    const result = await state.services.accessTokens.get(request);
    if (!result.ok) throw new AccessTokenError(result.error, result.message, result.retryAfterSeconds);
    return { ...result.token };
  };
  return { getAccessToken: get, getSellerAccessToken: get };
}

let shared: AccessTokenClient | undefined;
const client = (): AccessTokenClient => (shared ??= createAccessTokenClient(processApp()));

/** A fresh access token for a customer's authorization (region needed only when it has several). */
export function getAccessToken(request: { customerId: string; region?: Region; forceRefresh?: boolean }): Promise<SellerAccessToken> {
  return client().getAccessToken(request);
}

/** The same, looked up by the seller's selling_partner_id. */
export function getSellerAccessToken(request: { sellingPartnerId: string; region?: Region; forceRefresh?: boolean }): Promise<SellerAccessToken> {
  return client().getSellerAccessToken(request);
}
