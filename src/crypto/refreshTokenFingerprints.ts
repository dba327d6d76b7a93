import type { CredentialScope, SecretStore } from '../credentials/index.js';
import { CipherError, type TokenCipher } from './tokenCipher.js';

export interface FingerprintReport {
  fingerprinted: number;
  alreadyCurrent: number;
  changedMeanwhile: number;
  /** Rows whose refresh token another row already holds (stored before fingerprints existed): left without one. */
  duplicates: Array<{ customerId: string; scope: CredentialScope }>;
  failed: Array<{ customerId: string; scope: CredentialScope; reason: string }>;
}

/**
 * Gives every stored refresh token its keyed fingerprint under the current key (rows written before fingerprints
 * existed, or fingerprinted under a key since rotated): the unique index then holds one token to one credential, and
 * an import finds the token wherever it is stored. Row by row, each a compare-and-swap on the envelope, so a run can
 * be interrupted and run again. Run on opening a SQLite store, by `npm run db:migrate` and by `npm run tokens:reencrypt`.
 */
export async function fingerprintRefreshTokens(store: SecretStore, cipher: TokenCipher, currentKid: string): Promise<FingerprintReport> {
  const report: FingerprintReport = { fingerprinted: 0, alreadyCurrent: 0, changedMeanwhile: 0, duplicates: [], failed: [] };
  for (const row of await store.listSecretEnvelopes()) {
    const envelope = row.lwaRefreshToken;
    if (envelope === null) continue;
    if (row.refreshTokenFingerprint?.startsWith(`${currentKid}:`) === true) {
      report.alreadyCurrent += 1;
      continue;
    }
    let fingerprint: string;
    try {
      fingerprint = cipher.fingerprint(cipher.decrypt(envelope, { column: 'lwa_refresh_token', customerId: row.customerId, region: row.region }));
    } catch (error) {
      if (!(error instanceof CipherError)) throw error;
      report.failed.push({ customerId: row.customerId, scope: row.scope, reason: error.message });
      continue;
    }
    const written = await store.replaceFingerprint({ customerId: row.customerId, scope: row.scope, expectedRefreshToken: envelope, fingerprint });
    if (written === 'replaced') report.fingerprinted += 1;
    else if (written === 'changed') report.changedMeanwhile += 1;
    else report.duplicates.push({ customerId: row.customerId, scope: row.scope });
  }
  return report;
}
