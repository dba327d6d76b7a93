import type { CredentialScope, SecretColumn, SecretStore } from '../credentials/index.js';
import { CipherError, ENVELOPE_VERSION, TokenCipher } from './tokenCipher.js';

/**
 * Key rotation: re-seals every stored secret envelope (refresh tokens, the codes and MWS tokens kept on the rows) with
 * the first key of TOKEN_ENCRYPTION_KEYS. Row by row, each a compare-and-swap, so a run can be interrupted at any
 * point and run again: envelopes already under the current key are left alone, a row that fails is reported and left
 * as it was, and a row changed meanwhile (say, re-authorized) is not overwritten. An MWS token stored in plain text
 * (written before MWS tokens were sealed) is sealed on the way.
 */
export interface ReencryptReport {
  examined: number;
  reencrypted: number;
  /** Plain MWS tokens sealed for the first time. */
  sealed: number;
  alreadyCurrent: number;
  changedMeanwhile: number;
  failed: Array<{ customerId: string; scope: CredentialScope; column: SecretColumn; reason: string }>;
}

const COLUMNS: ReadonlyArray<{ column: SecretColumn; field: 'lwaRefreshToken' | 'spapiOauthCode' | 'mwsAuthToken' }> = [
  { column: 'lwa_refresh_token', field: 'lwaRefreshToken' },
  { column: 'spapi_oauth_code', field: 'spapiOauthCode' },
  { column: 'mws_auth_token', field: 'mwsAuthToken' },
];

/** A value written before MWS tokens were sealed: Amazon's MWS tokens never start like an envelope. */
export function isPlainMwsToken(value: string): boolean {
  return !value.startsWith(`${ENVELOPE_VERSION}:`);
}

export async function reencryptSecrets(
  store: SecretStore,
  cipher: TokenCipher,
  currentKid: string,
  options: { onlyPlain?: boolean } = {},
): Promise<ReencryptReport> {
  const report: ReencryptReport = { examined: 0, reencrypted: 0, sealed: 0, alreadyCurrent: 0, changedMeanwhile: 0, failed: [] };
  for (const row of await store.listSecretEnvelopes()) {
    for (const { column, field } of COLUMNS) {
      const stored = row[field];
      if (stored === null) continue;
      const plain = column === 'mws_auth_token' && isPlainMwsToken(stored);
      if (options.onlyPlain === true && !plain) continue;
      report.examined++;
      if (!plain && TokenCipher.keyIdOf(stored) === currentKid) {
        report.alreadyCurrent++;
        continue;
      }
      const binding = { column, customerId: row.customerId, region: row.region };
      let replacement: string;
      try {
        replacement = cipher.encrypt(plain ? stored : cipher.decrypt(stored, binding), binding);
      } catch (error) {
        if (!(error instanceof CipherError)) throw error;
        report.failed.push({ customerId: row.customerId, scope: row.scope, column, reason: error.message });
        continue;
      }
      const swapped = await store.replaceEnvelope({ customerId: row.customerId, scope: row.scope, column, expected: stored, replacement });
      if (!swapped) report.changedMeanwhile++;
      else if (plain) report.sealed++;
      else report.reencrypted++;
    }
  }
  return report;
}

/** The data step of the schema change that seals MWS tokens: only plain values are touched. */
export function sealPlainMwsTokens(store: SecretStore, cipher: TokenCipher, currentKid: string): Promise<ReencryptReport> {
  return reencryptSecrets(store, cipher, currentKid, { onlyPlain: true });
}
