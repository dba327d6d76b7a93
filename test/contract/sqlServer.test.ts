import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sql from 'mssql';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, listMigrationFiles, renderMigration } from '../../src/store/mssql/migrations.js';
import { MssqlEngine } from '../../src/store/mssql/mssqlEngine.js';
import { procedureName, PROCEDURES_VERSION } from '../../src/store/mssql/procedures.js';
import { OPERATIONS } from '../../src/store/operations/index.js';
import { SqlStore } from '../../src/store/sqlStore.js';
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
    expect(applied).toEqual([...listMigrationFiles().map((file) => file.version), PROCEDURES_VERSION]);
  }, 60_000);

  afterAll(async () => {
    if (admin === undefined) return;
    try {
      await admin.request().batch(
        `${OPERATIONS.map((operation) => `DROP PROCEDURE IF EXISTS ${table(procedureName(operation))};`).join('\n')}
         DROP VIEW IF EXISTS ${table('sp_api_credentials_status')};
         DROP TABLE IF EXISTS ${table('sp_api_events')};
         DROP TABLE IF EXISTS ${table('sp_api_access_tokens')};
         DROP TABLE IF EXISTS ${table('service_heartbeat')};
         DROP TABLE IF EXISTS ${table('service_incidents')};
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
    it('apply nothing the second time, and the files run again by hand without error', async () => {
      if (admin === undefined) throw new Error('no admin pool');
      expect(await applyMigrations(admin, { schema })).toEqual([]);
      for (const file of listMigrationFiles()) await admin.request().batch(renderMigration(readFileSync(file.path, 'utf8'), schema));
    });
  });

  /**
   * The keys and checks the migrations create, pinned by what they refuse rather than by catalog names (Babelfish
   * reports index names of its own). Rows are written straight into the tables and removed again.
   */
  describe('keys and checks, by behaviour', () => {
    const NOW = "'2025-03-01T10:00:00'";
    /** The error number a batch fails with, or undefined when it succeeds. */
    async function refusal(batch: string): Promise<number | undefined> {
      if (admin === undefined) throw new Error('no admin pool');
      try {
        await admin.request().batch(batch);
        return undefined;
      } catch (error) {
        const number = (error as { number?: unknown }).number;
        return typeof number === 'number' ? number : -1;
      }
    }
    /** The region a scope lies in, as the store derives it (a test may give another, to see the CHECK refuse it). */
    const regionOf = (scope: string): string => (scope === 'NA' || scope === 'EU' ? scope : 'FE');
    const credential = (
      customer: string,
      scope: string,
      partner: string | null,
      status = 'pending',
      options: { region?: string; fingerprint?: string } = {},
    ): string =>
      `INSERT INTO ${table('sp_api_credentials')} (customer_id, scope, region, selling_partner_id, refresh_token_fingerprint, status, updated_at)
       VALUES (N'${customer}', '${scope}', '${options.region ?? regionOf(scope)}', ${partner === null ? 'NULL' : `'${partner}'`},
               ${options.fingerprint === undefined ? 'NULL' : `'${options.fingerprint}'`}, '${status}', ${NOW});`;
    const attempt = (stateHash: string | null, flow = 'website'): string =>
      `INSERT INTO ${table('sp_api_auth_attempts')} (state_hash, flow, customer_id, scope, region, created_at, outcome)
       VALUES (${stateHash === null ? 'NULL' : `'${stateHash}'`}, '${flow}', N'keys', 'NA', 'NA', ${NOW}, 'pending');`;

    afterEach(async () => {
      await admin?.request().batch(`DELETE FROM ${table('sp_api_auth_attempts')}; DELETE FROM ${table('sp_api_credentials')};`);
    });

    it('refuses a second row for one (customer, scope) with a duplicate key; the Far East marketplaces are scopes of their own', async () => {
      expect(await refusal(credential('keys-1', 'NA', null))).toBeUndefined();
      expect([2601, 2627]).toContain(await refusal(credential('keys-1', 'NA', null)));
      expect(await refusal(credential('keys-1', 'EU', null))).toBeUndefined();
      // JP, AU and SG: three rows of one customer, all in region FE.
      expect(await refusal(credential('keys-1', 'JP', null) + credential('keys-1', 'AU', null) + credential('keys-1', 'SG', null))).toBeUndefined();
      expect([2601, 2627]).toContain(await refusal(credential('keys-1', 'AU', null)));
    });

    it('refuses a second row holding one selling partner in one scope with a duplicate key; other scopes and NULL are free', async () => {
      expect(await refusal(credential('keys-1', 'NA', 'AKEYS1'))).toBeUndefined();
      expect([2601, 2627]).toContain(await refusal(credential('keys-2', 'NA', 'AKEYS1')));
      expect(await refusal(credential('keys-2', 'EU', 'AKEYS1'))).toBeUndefined();
      expect(await refusal(credential('keys-3', 'NA', null) + credential('keys-4', 'NA', null))).toBeUndefined();
      // One region, two scopes: the seller may be held in JP and in AU (by one customer or two), once in each.
      expect(await refusal(credential('keys-5', 'JP', 'AKEYS1') + credential('keys-5', 'AU', 'AKEYS1') + credential('keys-6', 'SG', 'AKEYS1'))).toBeUndefined();
      expect([2601, 2627]).toContain(await refusal(credential('keys-7', 'JP', 'AKEYS1')));
    });

    it('refuses a second row holding one refresh-token fingerprint with a duplicate key, in any scope; NULL is free', async () => {
      const fingerprint = `k1:${'f'.repeat(43)}`;
      expect(await refusal(credential('keys-1', 'NA', null, 'authorized', { fingerprint }))).toBeUndefined();
      expect([2601, 2627]).toContain(await refusal(credential('keys-2', 'NA', null, 'authorized', { fingerprint })));
      expect([2601, 2627]).toContain(await refusal(credential('keys-1', 'JP', null, 'authorized', { fingerprint })));
      expect(await refusal(credential('keys-1', 'JP', null, 'authorized', { fingerprint: `k1:${'g'.repeat(43)}` }))).toBeUndefined();
      expect(await refusal(credential('keys-3', 'NA', null) + credential('keys-4', 'NA', null))).toBeUndefined();
    });

    it('refuses a second attempt with one state hash with a duplicate key; attempts without a state share NULL', async () => {
      expect(await refusal(attempt('a'.repeat(64)))).toBeUndefined();
      expect([2601, 2627]).toContain(await refusal(attempt('a'.repeat(64))));
      expect(await refusal(attempt(null, 'callback') + attempt(null, 'callback'))).toBeUndefined();
    });

    it('refuses a status, a region, a scope or a flow outside its list with a CHECK violation (547)', async () => {
      expect(await refusal(credential('keys-1', 'NA', null, 'archived'))).toBe(547);
      expect(await refusal(credential('keys-1', 'NA', null, 'pending', { region: 'XX' }))).toBe(547);
      expect(await refusal(credential('keys-1', 'XX', null, 'pending', { region: 'XX' }))).toBe(547);
      // The scope must lie in the row's region: FE is a region, not a scope; JP is in FE, never in NA; NA only in NA.
      expect(await refusal(credential('keys-1', 'FE', null))).toBe(547);
      expect(await refusal(credential('keys-1', 'JP', null, 'pending', { region: 'NA' }))).toBe(547);
      expect(await refusal(credential('keys-1', 'NA', null, 'pending', { region: 'FE' }))).toBe(547);
      expect(await refusal(attempt(null, 'sideways'))).toBe(547);
      for (const status of ['pending', 'authorized', 'failed', 'revoked', 'unlinked']) {
        expect(await refusal(credential(`keys-${status}`, 'NA', null, status))).toBeUndefined();
      }
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

  /** Every table's rows, children first (the contract suite starts each case from empty tables). */
  const CLEAR_ROWS = ['sp_api_events', 'sp_api_credential_checks', 'sp_api_access_tokens', 'sp_api_auth_attempts', 'sp_api_credentials', 'service_incidents']
    .map((name) => `DELETE FROM ${table(name)};`)
    .join(' ');

  describeStoreContract('SQL Server', async () => {
    if (admin === undefined) throw new Error('no admin pool');
    const cleaner = admin;
    await cleaner.request().batch(CLEAR_ROWS);
    const store = new SqlStore(new MssqlEngine(await connect(), schema));
    return {
      store,
      cleanup: async () => {
        await store.close();
        await cleaner.request().batch(CLEAR_ROWS);
      },
    };
  });
});
