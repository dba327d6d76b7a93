import type { CredentialStore } from '../credentials/index.js';
import type { StoreSettings } from '../config/settings.js';

/**
 * Opens the store the settings name. Both drivers are loaded on demand: a local run never loads mssql, and
 * production never loads better-sqlite3 (a devDependency). SQL Server tables are NOT created here: production
 * runs `npm run db:migrate` on deploy. The SQLite store creates its own tables when it opens.
 */
export async function openStore(settings: StoreSettings): Promise<CredentialStore> {
  switch (settings.kind) {
    case 'sqlite': {
      const { openSqliteStore } = await import('./sqliteStore.js');
      return openSqliteStore(settings.path);
    }
    case 'mssql':
    case 'mssql-managed-identity': {
      const { openSqlServerStore } = await import('./sqlServerStore.js');
      return openSqlServerStore(settings);
    }
  }
}
