/**
 * What the two engines spell differently, and nothing else: statements are written once against a Dialect and
 * rendered per engine. Parameters are `@name` in both (better-sqlite3 binds `@name` from an object as mssql does).
 */
export const TABLES = {
  credentials: 'sp_api_credentials',
  attempts: 'sp_api_auth_attempts',
  accessTokens: 'sp_api_access_tokens',
  events: 'sp_api_events',
  checks: 'sp_api_credential_checks',
  heartbeat: 'service_heartbeat',
  incidents: 'service_incidents',
  migrations: 'schema_migrations',
} as const;
export type Table = keyof typeof TABLES;

export interface Dialect {
  readonly engine: 'sqlite' | 'mssql';
  /** A table's name as a statement writes it (schema-qualified on SQL Server). */
  t(table: Table): string;
  /** `TOP (n)` after SELECT on SQL Server; nothing on SQLite (see limit). */
  top(n: string): string;
  /** `LIMIT n` at the end on SQLite; nothing on SQL Server (see top). */
  limit(n: string): string;
  /** A 0/1 column telling whether `expression` is not NULL (BIT on SQL Server). */
  isSet(expression: string): string;
  /**
   * `column = @param` compared binary and length-exact: envelope columns take SQL Server's default collation (often
   * case-insensitive) and '=' there ignores trailing spaces; SQLite compares binary already.
   */
  same(column: string, param: string): string;
  /** Whether `expression` is one of the comma-framed list `param` (`,a,b,`). */
  listed(expression: string, param: string): string;
  /** The changed rows' columns as an UPDATE's answer: `OUTPUT inserted.…` before WHERE on SQL Server. */
  output(columns: readonly string[]): string;
  /** The same after WHERE on SQLite: `RETURNING …`. */
  returning(columns: readonly string[]): string;
}

export const sqliteDialect: Dialect = {
  engine: 'sqlite',
  t: (table) => TABLES[table],
  top: () => '',
  limit: (n) => `LIMIT ${n}`,
  isSet: (expression) => `(${expression} IS NOT NULL)`,
  same: (column, param) => `${column} = ${param}`,
  listed: (expression, param) => `instr(${param}, ',' || ${expression} || ',') > 0`,
  output: () => '',
  returning: (columns) => `RETURNING ${columns.join(', ')}`,
};

const SCHEMA_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Throws unless `schema` is a plain identifier: it is written into SQL text, so nothing else may pass. */
export function assertSchemaName(schema: string): string {
  if (!SCHEMA_PATTERN.test(schema)) throw new Error(`schema name must match ${SCHEMA_PATTERN.source}`);
  return schema;
}

export function mssqlDialect(schema: string): Dialect {
  assertSchemaName(schema);
  return {
    engine: 'mssql',
    t: (table) => `[${schema}].[${TABLES[table]}]`,
    top: (n) => `TOP (${n})`,
    limit: () => '',
    isSet: (expression) => `CAST(CASE WHEN ${expression} IS NULL THEN 0 ELSE 1 END AS BIT)`,
    same: (column, param) => `${column} = ${param} COLLATE Latin1_General_100_BIN2 AND DATALENGTH(${column}) = DATALENGTH(${param})`,
    listed: (expression, param) => `CHARINDEX(',' + ${expression} + ',', ${param}) > 0`,
    output: (columns) => `OUTPUT ${columns.map((c) => `inserted.${c}`).join(', ')}`,
    returning: () => '',
  };
}
