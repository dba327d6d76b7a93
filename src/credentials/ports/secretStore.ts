import type { SecretColumn } from '../credential.js';
import type { CredentialScope, Region } from '../marketplaces.js';

/** What key rotation needs (`npm run tokens:reencrypt`, sealing legacy plain MWS tokens): the envelopes, and a swap. */
export interface SecretStore {
  /** Every row's secret envelopes. */
  listSecretEnvelopes(): Promise<SecretEnvelopes[]>;

  /** Compare-and-swap of one envelope: true when the column still held `expected` and now holds `replacement`. */
  replaceEnvelope(input: EnvelopeReplacement): Promise<boolean>;

  /**
   * Writes a row's refresh-token fingerprint, only while the row still holds `expectedRefreshToken`: 'replaced';
   * 'changed' when it no longer does; 'duplicate' when another row already holds that fingerprint (one refresh token
   * in two credentials, written before fingerprints existed: nothing is written, ops must unlink one).
   */
  replaceFingerprint(input: FingerprintReplacement): Promise<'replaced' | 'changed' | 'duplicate'>;
}

export interface FingerprintReplacement {
  customerId: string;
  scope: CredentialScope;
  expectedRefreshToken: string;
  fingerprint: string;
}

export interface SecretEnvelopes {
  customerId: string;
  scope: CredentialScope;
  /** The envelope is bound to the region (its associated data), the row to the scope. */
  region: Region;
  lwaRefreshToken: string | null;
  /** The refresh token's keyed fingerprint (`<kid>:…`), null on rows written before fingerprints existed. */
  refreshTokenFingerprint: string | null;
  spapiOauthCode: string | null;
  mwsAuthToken: string | null;
}

export interface EnvelopeReplacement {
  customerId: string;
  scope: CredentialScope;
  column: SecretColumn;
  expected: string;
  replacement: string;
}
