import type { StoreSettings } from '../config/settings.js';
import type { CredentialStore } from '../credentials/index.js';
import { SqlStore } from './sqlStore.js';

/**
 * Opens the store the settings name. Both drivers are loaded on demand: a local run never loads mssql, and
 * production never loads better-sqlite3 (a devDependency). SQL Server tables and procedures are NOT created here:
 * production runs `npm run db:migrate` on deploy. The SQLite engine creates its own tables when it opens.
 */
export async function openStore(settings: StoreSettings): Promise<CredentialStore> {
  switch (settings.kind) {
    case 'sqlite': {
      const { openSqliteEngine } = await import('./sqlite/sqliteEngine.js');
      return new SqlStore(await openSqliteEngine(settings.path));
    }
    case 'mssql':
    case 'mssql-managed-identity': {
      const { openMssqlEngine } = await import('./mssql/mssqlEngine.js');
      return new SqlStore(await openMssqlEngine(settings));
    }
  }
}

/** The SQLite store on one file: local runs, the sandbox, tests. */
export async function openSqliteStore(path: string): Promise<SqlStore> {
  const { openSqliteEngine } = await import('./sqlite/sqliteEngine.js');
  return new SqlStore(await openSqliteEngine(path));
}
