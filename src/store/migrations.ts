import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sql from 'mssql';
import { inTransaction } from './mssqlTransaction.js';

/**
 * SQL Server schema migrations: `sql/NNN_name.sql`, applied in order, each once, each in its own transaction, and
 * recorded in `[schema].schema_migrations`. Production runs them on deploy (`npm run db:migrate`); the app never
 * does. The files name their schema `{{schema}}`, so tests can target a throw-away schema instead of dbo.
 */

export const DEFAULT_SCHEMA = 'dbo';
const SCHEMA_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const FILE_PATTERN = /^(\d{3})_[A-Za-z0-9_]+\.sql$/;
const LOCK_TIMEOUT_MS = 60_000;

export interface MigrationFile {
  /** The file name without `.sql`, e.g. `001_sp_api_credentials`: what schema_migrations records. */
  version: string;
  path: string;
}

export interface ApplyMigrationsOptions {
  schema?: string;
  log?: (line: string) => void;
}

/** Throws unless `schema` is a plain identifier: it is written into SQL text, so nothing else may pass. */
export function assertSchemaName(schema: string): string {
  if (!SCHEMA_PATTERN.test(schema)) {
    throw new Error(`schema name must match ${SCHEMA_PATTERN.source}`);
  }
  return schema;
}

/** The package root: the nearest folder above this module holding package.json (works from src/ and dist/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the migrations module');
    dir = parent;
  }
}

/** `sql/NNN_name.sql` of the package, in order. Throws on a repeated number, so the order is never ambiguous. */
export function listMigrationFiles(directory: string = join(packageRoot(), 'sql')): MigrationFile[] {
  const names = readdirSync(directory).filter((name) => FILE_PATTERN.test(name)).sort();
  const seen = new Set<string>();
  return names.map((name) => {
    const number = name.slice(0, 3);
    if (seen.has(number)) throw new Error(`two migration files are numbered ${number} in ${directory}`);
    seen.add(number);
    return { version: name.slice(0, -'.sql'.length), path: join(directory, name) };
  });
}

/** The file's text for `schema`: `{{schema}}` replaced; a `GO` line is refused (each file is one batch). */
export function renderMigration(text: string, schema: string): string {
  assertSchemaName(schema);
  if (/^\s*GO\s*(\d+\s*)?$/im.test(text)) throw new Error('a migration file must be one batch: remove the GO lines');
  const rendered = text.replaceAll('{{schema}}', schema);
  if (rendered.includes('{{')) throw new Error('a migration file holds an unknown {{placeholder}}');
  return rendered;
}

/**
 * Creates the schema and schema_migrations when missing, then applies each file not yet recorded, in its own
 * transaction together with its schema_migrations row. An application lock (per schema, held until commit)
 * serializes concurrent runners, e.g. two deployment slots. Returns the versions applied by this call.
 */
export async function applyMigrations(pool: sql.ConnectionPool, options: ApplyMigrationsOptions = {}): Promise<string[]> {
  const schema = assertSchemaName(options.schema ?? DEFAULT_SCHEMA);
  const log = options.log ?? ((): void => undefined);
  const files = listMigrationFiles();
  const history = `[${schema}].[schema_migrations]`;

  await inTransaction(pool, async (tx) => {
    await takeMigrationLock(tx, schema);
    await tx
      .request()
      .input('schema', sql.NVarChar(128), schema)
      .query(
        `IF SCHEMA_ID(@schema) IS NULL
         BEGIN
           DECLARE @statement NVARCHAR(300) = N'CREATE SCHEMA ' + QUOTENAME(@schema);
           EXEC sys.sp_executesql @statement;
         END;`,
      );
    await tx.request().batch(
      `IF OBJECT_ID(N'${history}', N'U') IS NULL
       BEGIN
         CREATE TABLE ${history} (
           version    VARCHAR(100) NOT NULL CONSTRAINT pk_schema_migrations PRIMARY KEY,
           applied_at DATETIME2(3) NOT NULL
         );
       END;`,
    );
  });

  const applied: string[] = [];
  for (const file of files) {
    const text = renderMigration(readFileSync(file.path, 'utf8'), schema);
    const done = await inTransaction(pool, async (tx) => {
      await takeMigrationLock(tx, schema);
      const recorded = await tx
        .request()
        .input('version', sql.VarChar(100), file.version)
        .query<{ found: number }>(`SELECT 1 AS found FROM ${history} WHERE version = @version`);
      if (recorded.recordset.length > 0) return false;
      await tx.request().batch(text);
      await tx
        .request()
        .input('version', sql.VarChar(100), file.version)
        .query(`INSERT INTO ${history} (version, applied_at) VALUES (@version, SYSUTCDATETIME())`);
      return true;
    });
    if (done) {
      applied.push(file.version);
      log(`applied ${file.version} to schema ${schema}`);
    }
  }
  return applied;
}

async function takeMigrationLock(tx: sql.Transaction, schema: string): Promise<void> {
  const result = await tx
    .request()
    .input('lockResource', sql.NVarChar(255), `sp-api-seller-auth:migrations:${schema}`)
    .input('lockTimeout', sql.Int, LOCK_TIMEOUT_MS)
    .query<{ status: number }>(
      `DECLARE @status INT;
       EXEC @status = sys.sp_getapplock @Resource = @lockResource, @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = @lockTimeout;
       SELECT @status AS status;`,
    );
  const status = result.recordset[0]?.status;
  if (status === undefined || status < 0) throw new Error(`could not take the migration lock (sp_getapplock returned ${String(status)})`);
}

