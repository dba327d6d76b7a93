import { MSSQL_SCHEMA, parse } from '@tediousjs/connection-string';

/**
 * The `Authentication` of SQL_CONNECTION_STRING, as .NET teams write it (Microsoft.Data.SqlClient keywords; what the
 * Azure SQL quickstart stores: `Authentication=Active Directory Default; User Id=<client id>`), mapped to the Node
 * driver's Entra authentication. mssql's parser maps only `Active Directory Integrated` (and `Password`); every
 * other value comes out as a plain SQL login, `User Id` taken for a login name. Here the managed-identity forms are
 * mapped, and anything that cannot be mapped is refused (a settings error naming the problem, never a value), so no
 * connection string ever falls through to a SQL login it did not ask for.
 *
 * Parsed by @tediousjs/connection-string, mssql's own parser, so keys, aliases and quoting read the same. This
 * module imports nothing else: config/settings.ts uses it to validate the setting without loading the driver.
 */
export type ConnectionStringAuthentication =
  /** Left to mssql's parser: a SQL login, NTLM (`Domain\user`), or what mssql maps itself (Integrated, Password). */
  | { kind: 'as-parsed' }
  /** Entra ID through a managed identity (or DefaultAzureCredential); `clientId` selects a user-assigned identity. */
  | { kind: 'entra'; type: 'azure-active-directory-default' | 'azure-active-directory-msi-app-service'; clientId: string | undefined };

export type ConnectionStringCheck = { ok: true; authentication: ConnectionStringAuthentication } | { ok: false; problem: string };

const CLIENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** SqlClient's Authentication keywords, spaces removed and lower-cased, by what this app does with them. */
const ENTRA: Record<string, { type: 'azure-active-directory-default' | 'azure-active-directory-msi-app-service'; label: string }> = {
  activedirectorydefault: { type: 'azure-active-directory-default', label: 'Active Directory Default' },
  activedirectorymanagedidentity: { type: 'azure-active-directory-msi-app-service', label: 'Active Directory Managed Identity' },
  activedirectorymsi: { type: 'azure-active-directory-msi-app-service', label: 'Active Directory MSI' },
};
const AS_PARSED = new Set(['', 'sqlpassword', 'activedirectoryintegrated', 'ntlm']);
const UNSUPPORTED: Record<string, string> = {
  activedirectoryserviceprincipal: 'Active Directory Service Principal',
  activedirectoryinteractive: 'Active Directory Interactive',
  activedirectorydevicecodeflow: 'Active Directory Device Code Flow',
  activedirectoryworkloadidentity: 'Active Directory Workload Identity',
};
const USE_INSTEAD = 'use Authentication=Active Directory Managed Identity (in Azure), Active Directory Default, or a SQL login.';

/** Problems are worded to follow the setting's name: `SQL_CONNECTION_STRING ${problem}`. */
export function connectionStringAuthentication(connectionString: string): ConnectionStringCheck {
  let values: Record<string, unknown>;
  try {
    values = parse(connectionString).toSchema(MSSQL_SCHEMA);
  } catch {
    return { ok: false, problem: 'cannot be parsed: write key=value pairs separated by ";" (quote a value holding ";" with {…}).' };
  }
  const text = (key: string): string | undefined => {
    const value = values[key];
    return value === undefined || value === null || String(value).trim() === '' ? undefined : String(value).trim();
  };
  if (text('data source') === undefined) return { ok: false, problem: 'names no server: add Server=tcp:<name>.database.windows.net,1433.' };

  const keyword = (text('authentication') ?? '').replace(/\s+/g, '').toLowerCase();
  const entra = ENTRA[keyword];
  if (entra !== undefined) {
    if (text('password') !== undefined) return { ok: false, problem: `has a Password with Authentication=${entra.label}, which takes none: remove it.` };
    const userId = text('user id');
    if (userId !== undefined && !CLIENT_ID.test(userId)) {
      return { ok: false, problem: `has a User Id that is not a client id: with Authentication=${entra.label}, User Id names a user-assigned managed identity by its client id (a GUID), or is left out.` };
    }
    return { ok: true, authentication: { kind: 'entra', type: entra.type, clientId: userId } };
  }
  if (keyword === 'activedirectorypassword') {
    // mssql maps it, but tedious needs an app registration's Client Id, which .NET does not.
    if (text('client id') !== undefined) return { ok: true, authentication: { kind: 'as-parsed' } };
    return { ok: false, problem: `has Authentication=Active Directory Password, which the Node driver takes only with a Client Id: ${USE_INSTEAD}` };
  }
  const unsupported = UNSUPPORTED[keyword];
  if (unsupported !== undefined) return { ok: false, problem: `has Authentication=${unsupported}, which this app cannot use: ${USE_INSTEAD}` };
  if (!AS_PARSED.has(keyword)) return { ok: false, problem: `has an Authentication value this app does not know: ${USE_INSTEAD}` };
  // The schema reads true/yes/sspi (and Trusted_Connection) as true.
  if (keyword === '' && values['integrated security'] === true) {
    return { ok: false, problem: `has Integrated Security (Windows authentication), which the Node driver cannot use: ${USE_INSTEAD}` };
  }
  return { ok: true, authentication: { kind: 'as-parsed' } };
}
