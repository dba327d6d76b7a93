import { parseArgs } from 'node:util';
import { readLocalSettingValues } from '../config/localSettings.js';
import { loadStoreSettings, type StoreSettings } from '../config/settings.js';
import { applyMigrations, assertSchemaName, DEFAULT_SCHEMA, listMigrationFiles } from '../store/migrations.js';

/**
 * `npm run db:migrate [-- --schema NAME]`: applies sql/NNN_*.sql to the SQL Server the app is configured for, with
 * the app's own rules for the SQL settings (environment over local.settings.json). Production runs it on deploy;
 * the app never migrates. Messages never include the connection string (it may hold a password).
 */
async function main(): Promise<number> {
  let settings: StoreSettings | undefined;
  try {
    const { values: args } = parseArgs({ options: { schema: { type: 'string', default: DEFAULT_SCHEMA } } });
    const schema = assertSchemaName(args.schema ?? DEFAULT_SCHEMA);
    const loaded = loadStoreSettings(readLocalSettingValues().values, { inAzure: false });
    if (!loaded.ok) {
      for (const problem of loaded.problems) console.error(`db:migrate: ${problem}`);
      return 1;
    }
    settings = loaded.store;
    if (settings.kind === 'sqlite') {
      console.log('db:migrate: no SQL Server configured (SQL_CONNECTION_STRING or SQL_SERVER + SQL_DATABASE); the SQLite store creates its schema by itself.');
      return 0;
    }
    const total = listMigrationFiles().length;
    const { getPool, closePool } = await import('../store/sqlServerStore.js');
    const pool = await getPool(settings);
    try {
      const applied = await applyMigrations(pool, { schema, log: (line) => console.log(`db:migrate: ${line}`) });
      console.log(
        applied.length === 0
          ? `db:migrate: schema ${schema} is up to date (${total} migrations already applied).`
          : `db:migrate: applied ${applied.length} of ${total} migrations to schema ${schema}.`,
      );
    } finally {
      await closePool(pool).catch(() => undefined);
    }
    return 0;
  } catch (error) {
    console.error(`db:migrate failed: ${redact(error instanceof Error ? error.message : String(error), settings)}`);
    return 1;
  }
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

process.exitCode = await main();
