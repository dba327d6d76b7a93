import { randomUUID } from 'node:crypto';
import sql from 'mssql';
import { Connection } from 'tedious';
import { describe, expect, it } from 'vitest';
import type { SettingValues } from '../../../src/config/settingReader.js';
import { loadSettings } from '../../../src/config/settings.js';
import { connectionStringConfig } from '../../../src/store/mssql/pool.js';

/**
 * SQL_CONNECTION_STRING in the .NET managed-identity forms: mapped to tedious's managed-identity authentication, and
 * every form that cannot be mapped refused by the settings (one line, no value), never a SQL login. Nothing here
 * connects: a ConnectionPool and a tedious Connection are only built.
 */
const CLIENT_ID = randomUUID();
const SERVER = 'Server=tcp:sql-sample.database.windows.net,1433;Database=spapi';
const PASSWORD = 'SqlSENTINELpw-9d8c';

const BASE: SettingValues = {
  SPAPI_APPLICATION_ID: 'amzn1.sp.solution.00000000-1111-2222-3333-444444444444',
  SPAPI_REDIRECT_URI: 'https://func-sample.azurewebsites.net/api/lwa-callback',
  LWA_CLIENT_ID: 'amzn1.application-oa2-client.sample',
  LWA_CLIENT_SECRET: 'amzn1.oa2-cs.v1.sample',
  LAUNCH_LINK_SECRET: 'launch-secret-sample-0123456789abcdef0123',
  TOKEN_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
};

/** What tedious is handed for this connection string: mssql's own merge of the pool config (lib/tedious). */
function tediousConfig(connectionString: string): { authentication: { type: string; options: Record<string, unknown> }; options: Record<string, unknown> } {
  const pool = new sql.ConnectionPool(connectionStringConfig(connectionString));
  const config = (Reflect.get(pool, '_config') as () => unknown).call(pool);
  return config as ReturnType<typeof tediousConfig>;
}

function problems(connectionString: string): string[] {
  const result = loadSettings({ ...BASE, SQL_CONNECTION_STRING: connectionString }, { inAzure: true });
  return result.ok ? [] : result.problems;
}

describe('SQL_CONNECTION_STRING with managed identity', () => {
  it.each([
    ['Active Directory Default', 'azure-active-directory-default'],
    ['ActiveDirectoryDefault', 'azure-active-directory-default'],
    ['Active Directory Managed Identity', 'azure-active-directory-msi-app-service'],
    ['active directory managed identity', 'azure-active-directory-msi-app-service'],
    ['Active Directory MSI', 'azure-active-directory-msi-app-service'],
    ['ActiveDirectoryMSI', 'azure-active-directory-msi-app-service'],
  ])('Authentication=%s with User Id = a client id → %s for that identity', (keyword, type) => {
    const connectionString = `${SERVER};Authentication=${keyword};User Id=${CLIENT_ID};Encrypt=True`;
    expect(problems(connectionString)).toEqual([]);
    const config = connectionStringConfig(connectionString);
    expect(config).toMatchObject({ server: 'sql-sample.database.windows.net', port: 1433, database: 'spapi', validateConnection: 'socket' });
    expect(config.user).toBeUndefined();
    expect(config.authentication).toEqual({ type, options: { clientId: CLIENT_ID } });
    const tedious = tediousConfig(connectionString);
    expect(tedious.authentication).toEqual({ type, options: { clientId: CLIENT_ID } });
    expect(tedious.options).toMatchObject({ encrypt: true, database: 'spapi', port: 1433 });
    // tedious itself accepts it (its constructor validates the authentication; nothing connects).
    expect(() => new Connection(tedious as never).close()).not.toThrow();
  });

  it('without User Id: the system-assigned identity (or DefaultAzureCredential), no client id', () => {
    expect(tediousConfig(`${SERVER};Authentication=Active Directory Managed Identity`).authentication).toEqual({
      type: 'azure-active-directory-msi-app-service',
      options: {},
    });
    expect(tediousConfig(`${SERVER};Authentication=Active Directory Default`).authentication).toEqual({ type: 'azure-active-directory-default', options: {} });
  });

  it("the Azure SQL quickstart's string as it stores it (spaces after ;, TrustServerCertificate)", () => {
    const quickstart = `Server=sql-sample.database.windows.net; Database=ToDo; Authentication=Active Directory Default; User Id=${CLIENT_ID}; TrustServerCertificate=True`;
    expect(problems(quickstart)).toEqual([]);
    const tedious = tediousConfig(quickstart);
    expect(tedious.authentication).toEqual({ type: 'azure-active-directory-default', options: { clientId: CLIENT_ID } });
    expect(tedious.options).toMatchObject({ database: 'ToDo', trustServerCertificate: true });
  });

  it('leaves a SQL login and Active Directory Integrated to mssql, as before', () => {
    const login = `${SERVER};User Id=app;Password=${PASSWORD};Encrypt=true`;
    expect(problems(login)).toEqual([]);
    expect(tediousConfig(login).authentication).toEqual({ type: 'default', options: { userName: 'app', password: PASSWORD } });
    expect(tediousConfig(`${SERVER};Authentication=Sql Password;User Id=app;Password=${PASSWORD}`).authentication.type).toBe('default');
    expect(tediousConfig(`${SERVER};Authentication=Active Directory Integrated`).authentication.type).toBe('azure-active-directory-default');
  });
});

describe('SQL_CONNECTION_STRING forms that cannot be mapped', () => {
  it.each([
    ['a Password beside a managed identity', `${SERVER};Authentication=Active Directory Managed Identity;User Id=${CLIENT_ID};Password=${PASSWORD}`, 'takes none'],
    ['a User Id that is not a client id', `${SERVER};Authentication=Active Directory Default;User Id=id-app-SENTINEL`, 'not a client id'],
    ['Active Directory Password without Client Id', `${SERVER};Authentication=Active Directory Password;User Id=me@example.com;Password=${PASSWORD}`, 'Client Id'],
    ['a service principal', `${SERVER};Authentication=Active Directory Service Principal;User Id=${CLIENT_ID};Password=${PASSWORD}`, 'Service Principal'],
    ['an interactive sign-in', `${SERVER};Authentication=Active Directory Interactive`, 'Interactive'],
    ['an Authentication nobody knows', `${SERVER};Authentication=Active Directory SENTINEL Magic`, 'does not know'],
    ['Windows authentication', `${SERVER};Integrated Security=SSPI`, 'Integrated Security'],
    ['Trusted_Connection', `${SERVER};Trusted_Connection=yes`, 'Integrated Security'],
    ['no server', `Database=spapi;Authentication=Active Directory Default`, 'names no server'],
    ['an unparsable string', `${SERVER};Password="${PASSWORD}`, 'cannot be parsed'],
  ])('%s: one settings line naming the problem, no value', (_, connectionString, hint) => {
    const found = problems(connectionString);
    expect(found).toHaveLength(1);
    const [problem = ''] = found;
    expect(problem.startsWith('SQL_CONNECTION_STRING ')).toBe(true);
    expect(problem).toContain(hint);
    expect(problem).not.toContain('\n');
    for (const value of [PASSWORD, 'SENTINEL', CLIENT_ID, 'sql-sample']) expect(problem).not.toContain(value);
    // The pool refuses it too, should anything build one without the settings.
    expect(() => connectionStringConfig(connectionString)).toThrow(/^SQL_CONNECTION_STRING /);
  });

  it('are refused locally too (db:migrate reads the same rules)', () => {
    const result = loadSettings({ ...BASE, SQL_CONNECTION_STRING: `${SERVER};Authentication=Active Directory Interactive` }, { inAzure: false });
    expect(result.ok ? [] : result.problems).toEqual([expect.stringMatching(/^SQL_CONNECTION_STRING has Authentication=Active Directory Interactive/)]);
  });
});
