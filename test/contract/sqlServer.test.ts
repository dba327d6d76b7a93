import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sql from 'mssql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, listMigrationFiles, renderMigration } from '../../src/store/migrations.js';
import { SqlServerStore } from '../../src/store/sqlServerStore.js';
import { describeStoreContract } from './credentialStore.contract.js';

/**
 * The contract against SqlServerStore, when MSSQL_TEST_CONNECTION_STRING names a SQL Server (or Azure SQL)
 * database the login may create a schema in. The migrations are applied into a throw-away schema
 * `spapi_test_<random>`, every test gets its own pool on emptied tables, and the schema is dropped at the end.
 */
const connectionString = process.env['MSSQL_TEST_CONNECTION_STRING']?.trim() || undefined;

if (connectionString === undefined) {
  console.log('SQL Server contract suite skipped: set MSSQL_TEST_CONNECTION_STRING to run it.');
}

describe.skipIf(connectionString === undefined)('SQL Server', () => {
  const schema = `spapi_test_${randomBytes(6).toString('hex')}`;
  const table = (name: string): string => `[${schema}].[${name}]`;
  let admin: sql.ConnectionPool | undefined;

  const connect = async (): Promise<sql.ConnectionPool> => {
    if (connectionString === undefined) throw new Error('MSSQL_TEST_CONNECTION_STRING is not set');
    const pool = new sql.ConnectionPool(connectionString);
    pool.on('error', () => undefined);
    return pool.connect();
  };

  beforeAll(async () => {
    admin = await connect();
    const applied = await applyMigrations(admin, { schema });
    expect(applied).toEqual(listMigrationFiles().map((file) => file.version));
  }, 60_000);

  afterAll(async () => {
    if (admin === undefined) return;
    try {
      await admin.request().batch(
        `DROP VIEW IF EXISTS ${table('sp_api_credentials_status')};
         DROP TABLE IF EXISTS ${table('sp_api_events')};
         DROP TABLE IF EXISTS ${table('sp_api_credential_checks')};
         DROP TABLE IF EXISTS ${table('sp_api_auth_attempts')};
         DROP TABLE IF EXISTS ${table('sp_api_credentials')};
         DROP TABLE IF EXISTS ${table('schema_migrations')};
         DROP SCHEMA IF EXISTS [${schema}];`,
      );
    } finally {
      await admin.close();
    }
  }, 60_000);

  describe('migrations', () => {
    it('apply nothing the second time, and the files are idempotent when run again by hand', async () => {
      if (admin === undefined) throw new Error('no admin pool');
      expect(await applyMigrations(admin, { schema })).toEqual([]);
      for (const file of listMigrationFiles()) await admin.request().batch(renderMigration(readFileSync(file.path, 'utf8'), schema));
      const indexes = await admin
        .request()
        .input('schema', sql.NVarChar(128), schema)
        .query<{ name: string; is_unique: boolean; has_filter: boolean }>(
          `SELECT i.name, i.is_unique, i.has_filter FROM sys.indexes i
           JOIN sys.tables t ON t.object_id = i.object_id
           WHERE SCHEMA_NAME(t.schema_id) = @schema AND i.name IS NOT NULL ORDER BY i.name`,
        );
      expect(indexes.recordset.map((i) => [i.name, i.is_unique, i.has_filter])).toEqual([
        ['ix_sp_api_auth_attempts_created', false, false],
        ['ix_sp_api_auth_attempts_customer', false, false],
        ['ix_sp_api_events_occurred', false, false],
        ['ix_sp_api_events_queue', false, false],
        ['pk_schema_migrations', true, false],
        ['pk_sp_api_auth_attempts', true, false],
        ['pk_sp_api_credential_checks', true, false],
        ['pk_sp_api_credentials', true, false],
        ['pk_sp_api_events', true, false],
        ['ux_sp_api_auth_attempts_state', true, true],
        ['ux_sp_api_credentials_partner', true, true],
      ]);
    });
  });

  describe('005_truthful_record', () => {
    it('widens the envelope columns to VARCHAR(8000) / VARCHAR(1024) and adds the two attempt columns', async () => {
      if (admin === undefined) throw new Error('no admin pool');
      const columns = await admin
        .request()
        .input('schema', sql.NVarChar(128), schema)
        .query<{ TABLE_NAME: string; COLUMN_NAME: string; DATA_TYPE: string; CHARACTER_MAXIMUM_LENGTH: number | null; IS_NULLABLE: string }>(
          `SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, IS_NULLABLE FROM INFORMATION_SCHEMA.COLUMNS
           WHERE TABLE_SCHEMA = @schema
             AND COLUMN_NAME IN ('lwa_refresh_token', 'mws_auth_token', 'exchange_deadline', 'refusal_count')
           ORDER BY TABLE_NAME, COLUMN_NAME`,
        );
      expect(columns.recordset.map((c) => [c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE, c.CHARACTER_MAXIMUM_LENGTH, c.IS_NULLABLE])).toEqual([
        ['sp_api_auth_attempts', 'exchange_deadline', 'datetime2', null, 'YES'],
        ['sp_api_auth_attempts', 'refusal_count', 'int', null, 'NO'],
        ['sp_api_credentials', 'lwa_refresh_token', 'varchar', 8000, 'YES'],
        ['sp_api_credentials', 'mws_auth_token', 'varchar', 1024, 'YES'],
      ]);
    });
  });

  describeStoreContract('SqlServerStore', async () => {
    if (admin === undefined) throw new Error('no admin pool');
    const cleaner = admin;
    await cleaner.request().batch(`DELETE FROM ${table('sp_api_auth_attempts')}; DELETE FROM ${table('sp_api_credentials')};`);
    const store = new SqlServerStore(await connect(), { schema });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await cleaner.request().batch(`DELETE FROM ${table('sp_api_auth_attempts')}; DELETE FROM ${table('sp_api_credentials')};`);
      },
    };
  });
});
