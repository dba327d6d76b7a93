import sql from 'mssql';
import { describe, expect, it } from 'vitest';
import { connectionStringConfig, managedIdentityConfig, poolConfig } from '../../../src/store/mssql/pool.js';

/**
 * mssql 12 validates a pooled connection on every acquire; by default with `SELECT 1`, an extra round trip before
 * each store call. The pool configs ask for the socket check instead (lib/tedious/connection-pool.js _poolValidate).
 * Building a ConnectionPool from a config does not connect, so these run without a server.
 */
const CONNECTION_STRING = 'Server=tcp:db.example.net,1433;Database=spapi;User Id=app;Password=not-a-real-password;Encrypt=true';

describe('SQL Server pool config', () => {
  it('from a connection string: parsed by mssql, with validateConnection socket', () => {
    const config = connectionStringConfig(CONNECTION_STRING);
    expect(config.validateConnection).toBe('socket');
    expect([config.server, config.port, config.database, config.user]).toEqual(['db.example.net', 1433, 'spapi', 'app']);
  });

  it('from a connection string: the same settings mssql would parse itself, plus validateConnection', () => {
    const { validateConnection, ...rest } = connectionStringConfig(CONNECTION_STRING);
    expect(validateConnection).toBe('socket');
    expect(rest).toEqual(sql.ConnectionPool.parseConnectionString(CONNECTION_STRING));
  });

  it('for managed identity: validateConnection socket', () => {
    const config = managedIdentityConfig({ kind: 'mssql-managed-identity', server: 'tcp:db.example.net,1433', database: 'spapi', clientId: undefined });
    expect(config.validateConnection).toBe('socket');
  });

  it('reaches the pool: a ConnectionPool built from either config keeps validateConnection socket', () => {
    const pools = [
      new sql.ConnectionPool(poolConfig({ kind: 'mssql', connectionString: CONNECTION_STRING })),
      new sql.ConnectionPool(poolConfig({ kind: 'mssql-managed-identity', server: 'db.example.net', database: 'spapi', clientId: 'id' })),
    ];
    // `config` is the pool's own (untyped in @types/mssql) copy, which _poolValidate reads.
    for (const pool of pools) expect(Reflect.get(pool, 'config')).toMatchObject({ validateConnection: 'socket' });
  });
});
