import { createHash } from 'node:crypto';
import type { CredentialScope, Region } from './marketplaces.js';
import type { CredentialStatus } from './statuses.js';

/**
 * A credential is one row of `sp_api_credentials`: what Shipica holds of one seller's authorization for one customer
 * in one scope (a region in NA and EU, a marketplace in the Far East). Its secrets are TokenCipher envelopes only: no store ever sees a plain refresh token or code.
 */

/** A credential row without its secret columns: what pages, logs and ops may see. */
export interface CredentialSummary {
  customerId: string;
  /** The credential's key with customerId: a region in NA and EU, a marketplace in the Far East. */
  scope: CredentialScope;
  region: Region;
  marketplace: string | null;
  sellingPartnerId: string | null;
  status: CredentialStatus;
  lastError: string | null;
  authRequestedDate: Date | null;
  authGrantedDate: Date | null;
  lwaRefreshTokenDate: Date | null;
  /** When LWA last refused the refresh token (the row turned revoked); null once authorized again. */
  revokedAt: Date | null;
  updatedAt: Date;
  hasRefreshToken: boolean;
}

export interface CredentialSecrets {
  /** TokenCipher envelopes, exactly as stored (a mws_auth_token written before envelopes existed may be plain). */
  lwaRefreshToken: string | null;
  spapiOauthCode: string | null;
  mwsAuthToken: string | null;
}

/** The secret columns of a credential row (each holds a TokenCipher envelope bound to its column). */
export const SECRET_COLUMNS = ['lwa_refresh_token', 'spapi_oauth_code', 'mws_auth_token'] as const;
export type SecretColumn = (typeof SECRET_COLUMNS)[number];

/** A 1-hour LWA access token, made from a credential's refresh token. */
export interface AccessToken {
  accessToken: string;
  expiresAt: Date;
  customerId: string;
  sellingPartnerId: string;
  scope: CredentialScope;
  region: Region;
}

/**
 * Identifies one authorization of one row: `status|selling_partner_id|sha256(lwa_refresh_token envelope)` (32 hex
 * characters of the hash). Each re-authorization writes a new envelope with a fresh IV, so the generation changes
 * even when the same seller re-authorizes. An access token belongs to the generation that made it.
 */
export type CredentialGeneration = string;

export function credentialGeneration(row: {
  status: CredentialStatus;
  sellingPartnerId: string | null;
  lwaRefreshToken: string | null;
}): CredentialGeneration {
  const envelope = row.lwaRefreshToken === null ? '-' : createHash('sha256').update(row.lwaRefreshToken, 'utf8').digest('hex').slice(0, 32);
  return `${row.status}|${row.sellingPartnerId ?? '-'}|${envelope}`;
}
