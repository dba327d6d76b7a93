import sql from 'mssql';
import type { StoreSettings } from '../../config/settings.js';
import { connectionStringAuthentication } from '../../config/sqlConnectionString.js';
import { withoutNagle } from './noDelay.js';

/** The settings of a SQL Server store: a connection string, or a server and database reached by managed identity. */
export type SqlServerSettings = Extract<StoreSettings, { kind: 'mssql' | 'mssql-managed-identity' }>;

/** Pools: one per connection config, created lazily and shared by every store opened with that config. */
interface CachedPool {
  pool: sql.ConnectionPool;
  ready: Promise<sql.ConnectionPool>;
}

const pools = new Map<string, CachedPool>();

function poolKey(settings: SqlServerSettings): string {
  return settings.kind === 'mssql'
    ? `connection-string:${settings.connectionString}`
    : `managed-identity:${JSON.stringify([settings.server, settings.database, settings.clientId ?? null])}`;
}

/** `server`, `server,1433` or `tcp:server,1433` (as the Azure portal writes it). */
function parseServer(value: string): { server: string; port: number | undefined } {
  const bare = value.replace(/^tcp:/i, '');
  const match = /^(.*),(\d{1,5})$/.exec(bare);
  return match?.[1] !== undefined && match[2] !== undefined ? { server: match[1], port: Number(match[2]) } : { server: bare, port: undefined };
}

/**
 * mssql validates a connection on every acquire from the pool; its default (`true`) sends `SELECT 1` first, an extra
 * round trip per store call. 'socket' checks tedious's login state and socket instead (mssql 12,
 * lib/tedious/connection-pool.js `_poolValidate`); a dead connection still fails its request and is replaced.
 */
export const VALIDATE_CONNECTION = 'socket' as const;

/**
 * SQL_CONNECTION_STRING as a pool config: parsed by mssql's own parser (as `new ConnectionPool(string)` would), then,
 * for the .NET managed-identity forms (`Authentication=Active Directory Default | Managed Identity | MSI`, `User Id`
 * = a user-assigned identity's client id), tedious's managed-identity authentication in place of the SQL login
 * mssql would make of them (config/sqlConnectionString.ts). The settings refuse what cannot be mapped; this throws on it too.
 */
export function connectionStringConfig(connectionString: string): sql.config {
  const check = connectionStringAuthentication(connectionString);
  if (!check.ok) throw new Error(`SQL_CONNECTION_STRING ${check.problem}`);
  const parsed = sql.ConnectionPool.parseConnectionString(connectionString);
  if (check.authentication.kind === 'as-parsed') return { ...parsed, validateConnection: VALIDATE_CONNECTION };
  const { type, clientId } = check.authentication;
  // mssql's parser put User Id in `user` and its own guess in `authentication_type`: neither applies.
  const { user: _user, password: _password, ...rest } = parsed;
  Reflect.deleteProperty(rest, 'authentication_type');
  return {
    ...rest,
    authentication: { type, options: clientId === undefined ? {} : { clientId } },
    validateConnection: VALIDATE_CONNECTION,
  };
}

/**
 * Managed identity through tedious's `azure-active-directory-default` (DefaultAzureCredential: the app's managed
 * identity in Azure, with `clientId` selecting a user-assigned one; a developer's `az login` locally).
 */
export function managedIdentityConfig(settings: Extract<SqlServerSettings, { kind: 'mssql-managed-identity' }>): sql.config {
  const { server, port } = parseServer(settings.server);
  return {
    server,
    ...(port === undefined ? {} : { port }),
    database: settings.database,
    authentication: {
      type: 'azure-active-directory-default',
      options: settings.clientId === undefined ? {} : { clientId: settings.clientId },
    },
    options: { encrypt: true, trustServerCertificate: false },
    validateConnection: VALIDATE_CONNECTION,
  };
}

/** The pool config for either kind of SQL Server settings. */
export function poolConfig(settings: SqlServerSettings): sql.config {
  return settings.kind === 'mssql' ? connectionStringConfig(settings.connectionString) : managedIdentityConfig(settings);
}

/**
 * The pool for this connection config, connecting it on first use. The promise is cached; a failed connect
 * clears the cache so the next call tries again.
 */
export async function getPool(settings: SqlServerSettings): Promise<sql.ConnectionPool> {
  const key = poolKey(settings);
  const cached = pools.get(key);
  if (cached !== undefined) return cached.ready;
  const pool = new sql.ConnectionPool(withoutNagle(poolConfig(settings)));
  // mssql emits 'error' when a connection cannot be acquired; the request that asked for it fails with the same
  // error, so the event only needs a listener (without one, Node would end the process).
  pool.on('error', () => undefined);
  const entry: CachedPool = {
    pool,
    ready: pool.connect().catch((error: unknown) => {
      if (pools.get(key) === entry) pools.delete(key);
      throw error;
    }),
  };
  pools.set(key, entry);
  return entry.ready;
}

/** Closes the pool and forgets it, so the next getPool for its config connects afresh. */
export async function closePool(pool: sql.ConnectionPool): Promise<void> {
  for (const [key, entry] of pools) if (entry.pool === pool) pools.delete(key);
  await pool.close();
}

