import type { SecretColumn } from '../credential.js';
import type { Region } from '../marketplaces.js';

/** What key rotation needs (`npm run tokens:reencrypt`, sealing legacy plain MWS tokens): the envelopes, and a swap. */
export interface SecretStore {
  /** Every row's secret envelopes. */
  listSecretEnvelopes(): Promise<SecretEnvelopes[]>;

  /** Compare-and-swap of one envelope: true when the column still held `expected` and now holds `replacement`. */
  replaceEnvelope(input: EnvelopeReplacement): Promise<boolean>;
}

export interface SecretEnvelopes {
  customerId: string;
  region: Region;
  lwaRefreshToken: string | null;
  spapiOauthCode: string | null;
  mwsAuthToken: string | null;
}

export interface EnvelopeReplacement {
  customerId: string;
  region: Region;
  column: SecretColumn;
  expected: string;
  replacement: string;
}
