import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { CredentialStore } from '../credentials/index.js';
import { LocalFileError, readLocalSettingValues } from '../config/localSettings.js';
import { loadStoreSettings, type StoreSettings } from '../config/settings.js';
import { isPlainMwsToken, sealPlainMwsTokens } from '../crypto/reencryptSecrets.js';
import { fingerprintRefreshTokens } from '../crypto/refreshTokenFingerprints.js';
import { parseKeyRing, TokenCipher } from '../crypto/tokenCipher.js';
import { applyMigrations, assertSchemaName, DEFAULT_SCHEMA, listMigrationFiles } from '../store/mssql/migrations.js';
import { helpRequested } from './help.js';

export const MIGRATE_USAGE = [
  'usage: npm run db:migrate [-- --schema NAME]',
  '  Applies sql/NNN_*.sql in order to the SQL Server named by SQL_CONNECTION_STRING (or SQL_SERVER + SQL_DATABASE +',
  '  SQL_AUTH=managed-identity), records them in schema_migrations, then seals plain MWS tokens with',
  '  TOKEN_ENCRYPTION_KEYS. Settings: the environment, then local.settings.json. Without SQL settings: nothing to do.',
].join('\n');

/**
 * `npm run db:migrate [-- --schema NAME]`: applies sql/NNN_*.sql to the SQL Server the app is configured for, with
 * the app's own rules for the SQL settings (environment over local.settings.json), then seals the plain MWS tokens
 * older code stored (the data step of sql/005_truthful_record.sql, which the database cannot do: it has no keys).
 * Production runs it on deploy; the app never migrates. Messages never include the connection string (it may hold a
 * password) nor any key or token.
 */
export async function dbMigrateCommand(
  argv: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  out: { log(line: string): void; error(line: string): void } = console,
): Promise<number> {
  // Every line below goes where the caller says (tests capture them); the name keeps the messages as they were.
  const console = out;
  if (helpRequested(argv)) {
    console.log(MIGRATE_USAGE);
    return 0;
  }
  let settings: StoreSettings | undefined;
  try {
    const { values: args } = parseArgs({ args: argv, options: { schema: { type: 'string', default: DEFAULT_SCHEMA } } });
    const schema = assertSchemaName(args.schema ?? DEFAULT_SCHEMA);
    const local = readLocalSettingValues(cwd, env);
    const loaded = loadStoreSettings(local.values, { inAzure: false });
    if (!loaded.ok) {
      for (const problem of loaded.problems) console.error(`db:migrate: ${problem}`);
      return 1;
    }
    settings = loaded.store;
    if (settings.kind === 'sqlite') {
      console.log('db:migrate: no SQL Server configured (SQL_CONNECTION_STRING or SQL_SERVER + SQL_DATABASE); the SQLite store creates its schema by itself.');
      return 0;
    }
    // The files, and the stored procedures of this code as one more.
    const total = listMigrationFiles().length + 1;
    const { getPool, closePool } = await import('../store/mssql/pool.js');
    const { MssqlEngine } = await import('../store/mssql/mssqlEngine.js');
    const { SqlStore } = await import('../store/sqlStore.js');
    const pool = await getPool(settings);
    try {
      const applied = await applyMigrations(pool, { schema, log: (line) => console.log(`db:migrate: ${line}`) });
      console.log(
        applied.length === 0
          ? `db:migrate: schema ${schema} is up to date (${total} migrations already applied).`
          : `db:migrate: applied ${applied.length} of ${total} migrations to schema ${schema}.`,
      );
      // The store shares the pool; the finally below closes it once.
      const store = new SqlStore(new MssqlEngine(pool, schema));
      return await sealMwsTokensStep(store, local.values['TOKEN_ENCRYPTION_KEYS'], (line) => console.log(line));
    } finally {
      await closePool(pool).catch(() => undefined);
    }
  } catch (error) {
    if (error instanceof LocalFileError) {
      console.error(`db:migrate: ${error.message}`);
      return 1;
    }
    console.error(`db:migrate failed: ${redact(error instanceof Error ? error.message : String(error), settings)}`);
    return 1;
  }
}

/**
 * After the SQL files, the data steps that need the keys: seals every plain MWS token with the first key of
 * TOKEN_ENCRYPTION_KEYS (`rawKeys`, as configured for the app) and writes the refresh-token fingerprints missing. Without keys here it only counts the plain tokens and, when there are any, says that
 * `npm run tokens:reencrypt` must run with the app's settings. Exit code: 1 when the keys are not valid or a token
 * could not be sealed (it is left as it was), else 0. Lines name customers and counts, never a token or key.
 */
export async function sealMwsTokensStep(store: CredentialStore, rawKeys: string | undefined, print: (line: string) => void): Promise<number> {
  if (rawKeys === undefined || rawKeys.trim() === '') {
    const plain = (await store.listSecretEnvelopes()).filter((row) => row.mwsAuthToken !== null && isPlainMwsToken(row.mwsAuthToken)).length;
    print(
      plain === 0
        ? 'db:migrate: no plain MWS tokens stored.'
        : `db:migrate: ${plain} plain MWS tokens stored and TOKEN_ENCRYPTION_KEYS is not configured here: run \`npm run tokens:reencrypt\` with the app's settings to seal them.`,
    );
    const unprinted = (await store.listSecretEnvelopes()).filter((row) => row.lwaRefreshToken !== null && row.refreshTokenFingerprint === null).length;
    if (unprinted > 0) {
      print(`db:migrate: ${unprinted} refresh tokens have no fingerprint yet and TOKEN_ENCRYPTION_KEYS is not configured here: run \`npm run tokens:reencrypt\` with the app's settings to write them.`);
    }
    return 0;
  }
  const ring = parseKeyRing(rawKeys);
  if (!ring.ok) {
    print(`db:migrate: TOKEN_ENCRYPTION_KEYS ${ring.problem} Plain MWS tokens were not sealed.`);
    return 1;
  }
  const kid = ring.keys.current.kid;
  const cipher = new TokenCipher(ring.keys);
  const report = await sealPlainMwsTokens(store, cipher, kid);
  for (const f of report.failed) print(`db:migrate: FAILED to seal ${f.column} of customer ${f.customerId} (${f.scope}): ${f.reason}; left as it was`);
  print(
    `db:migrate: ${report.sealed} plain MWS tokens sealed with key "${kid}", ${report.changedMeanwhile} changed meanwhile (left alone), ${report.failed.length} failed.`,
  );
  // Rows stored before 010_far_east_scope get their refresh-token fingerprint (one token, one credential).
  const fingerprints = await fingerprintRefreshTokens(store, cipher, kid);
  for (const d of fingerprints.duplicates) print(`db:migrate: the refresh token of customer ${d.customerId} (${d.scope}) is stored for another credential too: unlink one (npm run ops -- unlink)`);
  print(`db:migrate: ${fingerprints.fingerprinted} refresh-token fingerprints written, ${fingerprints.duplicates.length} duplicates, ${fingerprints.failed.length} failed.`);
  return report.failed.length > 0 || fingerprints.failed.length > 0 ? 1 : 0;
}

/** Removes the connection string and any password in it from a message, in case a driver ever echoes them. */
export function redact(message: string, settings: StoreSettings | undefined): string {
  if (settings?.kind !== 'mssql') return message;
  const secrets = [settings.connectionString];
  for (const part of settings.connectionString.split(';')) {
    const value = /^\s*(password|pwd)\s*=\s*(.+?)\s*$/i.exec(part)?.[2]?.replace(/^\{(.*)\}$/, '$1');
    if (value !== undefined && value.length > 0) secrets.push(value);
  }
  return secrets.reduce((text, secret) => text.split(secret).join('***'), message);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await dbMigrateCommand(process.argv.slice(2), process.cwd(), process.env);
}
