import { pathToFileURL } from 'node:url';
import { App } from '../app.js';
import { reencryptSecrets } from '../crypto/reencryptSecrets.js';
import { fingerprintRefreshTokens } from '../crypto/refreshTokenFingerprints.js';
import { consoleLogger } from '../logging/logging.js';
import { helpRequested, runCommand } from './help.js';
import { prepareLocalRun } from './localRun.js';

export const REENCRYPT_USAGE = [
  'usage: npm run tokens:reencrypt',
  '  Re-encrypts every stored refresh token, code and MWS token with the first key of TOKEN_ENCRYPTION_KEYS',
  '  (sealing plain MWS tokens too). Settings as the app reads them: the environment, then local.settings.json.',
].join('\n');

/**
 * `npm run tokens:reencrypt`: re-encrypts every stored refresh token (and stored code and MWS token, sealing a plain
 * MWS token left by older code) with the first key of
 * TOKEN_ENCRYPTION_KEYS. Rotate by putting the new key first (`k2:…,k1:…`), deploying, running this, and only then
 * removing the old key. Settings as the app reads them (environment over local.settings.json; the sandbox's own
 * locally). Exit 1 when a row could not be re-encrypted (it is left as it was).
 */
export async function tokensReencrypt(values: Record<string, string | undefined>, print: (line: string) => void): Promise<number> {
  const app = new App({ values, environment: { inAzure: false }, logger: consoleLogger((line) => print(line)) });
  try {
    const state = await app.state();
    if (!state.ok) {
      for (const problem of state.problems) print(`tokens:reencrypt: ${problem}`);
      return 1;
    }
    const { store, cipher, settings } = state.services;
    const kid = settings.tokenKeys.current.kid;
    print(`tokens:reencrypt: sealing with key "${kid}" (${settings.store.kind} store)`);
    const report = await reencryptSecrets(store, cipher, kid);
    for (const f of report.failed) print(`tokens:reencrypt: FAILED ${f.column} of customer ${f.customerId} (${f.scope}): ${f.reason}; left as it was`);
    print(
      `tokens:reencrypt: ${report.examined} envelopes examined, ${report.reencrypted} re-encrypted, ${report.sealed} plain MWS tokens sealed, ${report.alreadyCurrent} already under "${kid}", ` +
        `${report.changedMeanwhile} changed meanwhile (left alone), ${report.failed.length} failed`,
    );
    const fingerprints = await fingerprintRefreshTokens(store, cipher, kid);
    for (const d of fingerprints.duplicates) print(`tokens:reencrypt: the refresh token of customer ${d.customerId} (${d.scope}) is stored for another credential too: unlink one (npm run ops -- unlink)`);
    print(`tokens:reencrypt: ${fingerprints.fingerprinted} refresh-token fingerprints written under "${kid}", ${fingerprints.duplicates.length} duplicates, ${fingerprints.failed.length} failed`);
    return report.failed.length > 0 || fingerprints.failed.length > 0 || fingerprints.duplicates.length > 0 ? 1 : 0;
  } finally {
    await app.close();
  }
}

/** The command line: --help, then the local settings (one line per problem, exit 1), then the re-encryption. */
export async function tokensReencryptMain(argv: string[], cwd: string, env: NodeJS.ProcessEnv, print: (line: string) => void): Promise<number> {
  if (helpRequested(argv)) {
    print(REENCRYPT_USAGE);
    return 0;
  }
  if (argv.length > 0) {
    print(`tokens:reencrypt: unexpected argument "${argv.join(' ')}"`);
    print(REENCRYPT_USAGE);
    return 2;
  }
  const prepared = prepareLocalRun({ cwd, env });
  if (!prepared.ok) {
    for (const problem of prepared.problems) print(`tokens:reencrypt: ${problem}`);
    return 1;
  }
  return tokensReencrypt(prepared.run.values, print);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runCommand('tokens:reencrypt', () => tokensReencryptMain(process.argv.slice(2), process.cwd(), process.env, (line) => console.log(line)));
}
