import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sql from 'mssql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, listMigrationFiles, renderMigration } from '../../src/store/mssql/migrations.js';
import { MssqlEngine } from '../../src/store/mssql/mssqlEngine.js';
import { procedureName, PROCEDURES_VERSION } from '../../src/store/mssql/procedures.js';
import { OPERATIONS } from '../../src/store/operations/index.js';
import { SqlStore } from '../../src/store/sqlStore.js';

/**
 * 010_far_east_scope on a database that 001–009 built and filled (the shape a deployment has today), when
 * MSSQL_TEST_CONNECTION_STRING names a SQL Server, Azure SQL or Babelfish database: every Far East row takes its
 * marketplace as its scope (JP when it has none), NA and EU keep their region, and a customer then holds JP and AU
 * side by side. The schema is a throw-away one, dropped at the end.
 */
const connectionString = process.env['MSSQL_TEST_CONNECTION_STRING']?.trim() || undefined;
if (connectionString === undefined) console.log('SQL Server Far East migration suite skipped: set MSSQL_TEST_CONNECTION_STRING to run it.');

describe.skipIf(connectionString === undefined)('SQL Server: 010_far_east_scope on a filled 009 database', () => {
  const schema = `spapi_fe_${randomBytes(6).toString('hex')}`;
  const t = (name: string): string => `[${schema}].[${name}]`;
  const T0 = "'2026-03-01T10:00:00'";
  let pool: sql.ConnectionPool | undefined;
  let applied: string[] = [];

  beforeAll(async () => {
    if (connectionString === undefined) throw new Error('MSSQL_TEST_CONNECTION_STRING is not set');
    pool = new sql.ConnectionPool(connectionString);
    pool.on('error', () => undefined);
    await pool.connect();
    // As the runner leaves a 009 database: the schema, its history, 001–009 applied and recorded.
    await pool.request().batch(`CREATE SCHEMA [${schema}];`);
    await pool.request().batch(`CREATE TABLE ${t('schema_migrations')} (version VARCHAR(100) NOT NULL PRIMARY KEY, applied_at DATETIME2(3) NOT NULL);`);
    for (const file of listMigrationFiles().filter((f) => f.version < '010')) {
      await pool.request().batch(renderMigration(readFileSync(file.path, 'utf8'), schema));
      await pool.request().input('v', sql.VarChar(100), file.version).query(`INSERT INTO ${t('schema_migrations')} (version, applied_at) VALUES (@v, SYSUTCDATETIME())`);
    }
    const credential = (customer: string, region: string, marketplace: string | null, partner: string | null, status: string, token: string | null) =>
      `INSERT INTO ${t('sp_api_credentials')} (customer_id, region, marketplace, selling_partner_id, lwa_refresh_token, status, auth_granted_date, updated_at)
       VALUES (N'${customer}', '${region}', ${marketplace === null ? 'NULL' : `'${marketplace}'`}, ${partner === null ? 'NULL' : `'${partner}'`},
               ${token === null ? 'NULL' : `'${token}'`}, '${status}', ${status === 'authorized' ? T0 : 'NULL'}, ${T0});`;
    await pool.request().batch(
      [
        credential('47', 'FE', 'JP', 'A1JAPAN', 'authorized', 'v1:k:jp'),
        credential('47', 'NA', 'US', 'A1AMERICA', 'authorized', 'v1:k:na'),
        credential('48', 'FE', 'AU', 'A1AUSTRALIA', 'revoked', 'v1:k:au'),
        credential('49', 'FE', null, null, 'pending', null),
        `INSERT INTO ${t('sp_api_auth_attempts')} (flow, customer_id, region, marketplace, created_at, outcome) VALUES ('website', N'47', 'FE', 'JP', ${T0}, 'succeeded');`,
        `INSERT INTO ${t('sp_api_auth_attempts')} (flow, customer_id, region, marketplace, created_at, outcome) VALUES ('website', N'49', 'FE', NULL, ${T0}, 'pending');`,
        `INSERT INTO ${t('sp_api_access_tokens')} (customer_id, region, credential_generation, access_token, expires_at, refreshed_at, updated_at)
         VALUES (N'47', 'FE', 'g', 'v1:at', ${T0}, ${T0}, ${T0}), (N'47', 'NA', 'g', 'v1:at', ${T0}, ${T0}, ${T0});`,
        `INSERT INTO ${t('sp_api_credential_checks')} (customer_id, region, checked_at, check_outcome) VALUES (N'47', 'FE', ${T0}, 'verified'), (N'47', 'NA', ${T0}, 'verified');`,
        `INSERT INTO ${t('sp_api_events')} (event_type, customer_id, region, selling_partner_id, occurred_at, data) VALUES ('authorization.granted', N'47', 'FE', 'A1JAPAN', ${T0}, N'{}');`,
      ].join('\n'),
    );
    applied = await applyMigrations(pool, { schema });
  }, 120_000);

  afterAll(async () => {
    if (pool === undefined) return;
    try {
      await pool.request().batch(
        `${OPERATIONS.map((operation) => `DROP PROCEDURE IF EXISTS ${t(procedureName(operation))};`).join('\n')}
         DROP VIEW IF EXISTS ${t('sp_api_credentials_status')};
         ${['sp_api_events', 'sp_api_access_tokens', 'service_heartbeat', 'service_incidents', 'sp_api_credential_checks', 'sp_api_auth_attempts', 'sp_api_credentials', 'schema_migrations']
           .map((name) => `DROP TABLE IF EXISTS ${t(name)};`)
           .join('\n')}
         DROP SCHEMA IF EXISTS [${schema}];`,
      );
    } finally {
      await pool.close();
    }
  }, 60_000);

  const rows = async (query: string): Promise<Record<string, unknown>[]> => {
    if (pool === undefined) throw new Error('no pool');
    return (await pool.request().query<Record<string, unknown>>(query)).recordset;
  };

  it('applies 010 and the procedures, and nothing else', () => {
    expect(applied).toEqual(['010_far_east_scope', PROCEDURES_VERSION]);
  });

  it('gives each Far East row its marketplace as its scope (JP without one); NA keeps its region; revoked rows get revoked_at', async () => {
    expect(await rows(`SELECT customer_id, scope, region, status, revoked_at FROM ${t('sp_api_credentials')} ORDER BY customer_id, scope`)).toEqual([
      { customer_id: '47', scope: 'JP', region: 'FE', status: 'authorized', revoked_at: null },
      { customer_id: '47', scope: 'NA', region: 'NA', status: 'authorized', revoked_at: null },
      { customer_id: '48', scope: 'AU', region: 'FE', status: 'revoked', revoked_at: new Date('2026-03-01T10:00:00.000Z') },
      { customer_id: '49', scope: 'JP', region: 'FE', status: 'pending', revoked_at: null },
    ]);
  });

  it("moves the attempts, checks and events to their row's scope, and drops the Far East shared access tokens", async () => {
    expect(await rows(`SELECT customer_id, scope FROM ${t('sp_api_auth_attempts')} ORDER BY customer_id`)).toEqual([
      { customer_id: '47', scope: 'JP' },
      { customer_id: '49', scope: 'JP' },
    ]);
    expect(await rows(`SELECT customer_id, scope FROM ${t('sp_api_credential_checks')} ORDER BY scope`)).toEqual([
      { customer_id: '47', scope: 'JP' },
      { customer_id: '47', scope: 'NA' },
    ]);
    expect(await rows(`SELECT scope FROM ${t('sp_api_events')}`)).toEqual([{ scope: 'JP' }]);
    expect(await rows(`SELECT customer_id, scope FROM ${t('sp_api_access_tokens')}`)).toEqual([{ customer_id: '47', scope: 'NA' }]);
  });

  it('then lets one customer hold JP and AU side by side, refuses a row whose scope is not its region, and shows the scope in the ops view', async () => {
    if (pool === undefined) throw new Error('no pool');
    await pool.request().batch(
      `INSERT INTO ${t('sp_api_credentials')} (customer_id, scope, region, selling_partner_id, status, updated_at) VALUES (N'47', 'AU', 'FE', 'A1JAPAN', 'pending', ${T0});`,
    );
    await expect(
      pool.request().batch(`INSERT INTO ${t('sp_api_credentials')} (customer_id, scope, region, status, updated_at) VALUES (N'50', 'JP', 'NA', 'pending', ${T0});`),
    ).rejects.toMatchObject({ number: 547 });
    await expect(pool.request().batch(`INSERT INTO ${t('sp_api_credentials')} (customer_id, region, status, updated_at) VALUES (N'51', 'NA', 'pending', ${T0});`)).rejects.toMatchObject({
      number: 547,
    });
    expect(await rows(`SELECT customer_id, scope, region FROM ${t('sp_api_credentials_status')} WHERE customer_id = N'47' ORDER BY scope`)).toEqual([
      { customer_id: '47', scope: 'AU', region: 'FE' },
      { customer_id: '47', scope: 'JP', region: 'FE' },
      { customer_id: '47', scope: 'NA', region: 'NA' },
    ]);
    const store = new SqlStore(new MssqlEngine(pool, schema));
    const status = await store.listCredentialStatus({ customerId: '48' }, new Date('2026-04-01T00:00:00Z'));
    expect(status.map((r) => [r.scope, r.status, r.hasRefreshToken, r.revokedAt?.toISOString()])).toEqual([['AU', 'revoked', true, '2026-03-01T10:00:00.000Z']]);
  });
});
