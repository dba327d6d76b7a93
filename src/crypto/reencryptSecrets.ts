import type { CredentialStore } from '../store/credentialStore.js';
import { CipherError, TokenCipher, type SecretColumn } from './tokenCipher.js';

/**
 * Key rotation: re-seals every stored secret envelope (refresh tokens and the codes kept on the rows) with the first
 * key of TOKEN_ENCRYPTION_KEYS. Row by row, each a compare-and-swap, so a run can be interrupted at any point and
 * run again: envelopes already under the current key are left alone, a row that fails is reported and left as it
 * was, and a row changed meanwhile (say, re-authorized) is not overwritten.
 */
export interface ReencryptReport {
  examined: number;
  reencrypted: number;
  alreadyCurrent: number;
  changedMeanwhile: number;
  failed: Array<{ customerId: string; region: string; column: SecretColumn; reason: string }>;
}

const COLUMNS: ReadonlyArray<{ column: SecretColumn; field: 'lwaRefreshToken' | 'spapiOauthCode' }> = [
  { column: 'lwa_refresh_token', field: 'lwaRefreshToken' },
  { column: 'spapi_oauth_code', field: 'spapiOauthCode' },
];

export async function reencryptSecrets(store: CredentialStore, cipher: TokenCipher, currentKid: string): Promise<ReencryptReport> {
  const report: ReencryptReport = { examined: 0, reencrypted: 0, alreadyCurrent: 0, changedMeanwhile: 0, failed: [] };
  for (const row of await store.listSecretEnvelopes()) {
    for (const { column, field } of COLUMNS) {
      const envelope = row[field];
      if (envelope === null) continue;
      report.examined++;
      if (TokenCipher.keyIdOf(envelope) === currentKid) {
        report.alreadyCurrent++;
        continue;
      }
      const binding = { column, customerId: row.customerId, region: row.region };
      let replacement: string;
      try {
        replacement = cipher.encrypt(cipher.decrypt(envelope, binding), binding);
      } catch (error) {
        if (!(error instanceof CipherError)) throw error;
        report.failed.push({ customerId: row.customerId, region: row.region, column, reason: error.message });
        continue;
      }
      const swapped = await store.replaceEnvelope({ customerId: row.customerId, region: row.region, column, expected: envelope, replacement });
      if (swapped) report.reencrypted++;
      else report.changedMeanwhile++;
    }
  }
  return report;
}
