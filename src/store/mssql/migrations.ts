import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sql from 'mssql';
import { OPERATIONS } from '../operations/index.js';
import { packageRoot } from '../packageRoot.js';
import { assertSchemaName } from '../sql/dialect.js';
import { procedureDefinition, procedureName, PROCEDURES_VERSION } from './procedures.js';

/**
 * SQL Server schema migrations: `sql/NNN_name.sql`, applied in order, each once, each in its own transaction, and
 * recorded in `[schema].schema_migrations`; then the stored procedures of this code (./procedures.ts), recorded as
 * one row, PROCEDURES_VERSION. Production runs them on deploy (`npm run db:migrate`); the app never does. The files
 * name their schema `{{schema}}`, so tests can target a throw-away schema instead of dbo.
 */

export const DEFAULT_SCHEMA = 'dbo';
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

export { assertSchemaName };

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

/**
 * The file's text for `schema`: `{{schema}}` replaced. Refused: a `GO` line (each file is one batch), and anything
 * portabilityProblems names (each file must run on SQL Server 2016+ / Azure SQL and on Babelfish 4.3).
 */
export function renderMigration(text: string, schema: string): string {
  assertSchemaName(schema);
  if (/^\s*GO\s*(\d+\s*)?$/im.test(text)) throw new Error('a migration file must be one batch: remove the GO lines');
  const problems = portabilityProblems(text);
  if (problems.length > 0) throw new Error(`a migration file must run on SQL Server and Babelfish: ${problems.join('; ')}`);
  const rendered = text.replaceAll('{{schema}}', schema);
  if (rendered.includes('{{')) throw new Error('a migration file holds an unknown {{placeholder}}');
  return rendered;
}

/** Statements a migration may not use: Babelfish for PostgreSQL 4.3 lacks them, or the project's rules forbid them. */
const FORBIDDEN: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bWITH\s+(NO)?CHECK\s+ADD\b/i, 'WITH CHECK ADD (write ALTER TABLE ... ADD CONSTRAINT ...)'],
  [/\bCREATE\s+OR\s+ALTER\b/i, 'CREATE OR ALTER (drop when OBJECT_ID finds it, then CREATE)'],
  [/\bsys\s*\.\s*indexes\b/i, 'sys.indexes (create an index in the block that creates its table)'],
  [/\bMERGE\b/i, 'MERGE'],
  // Babelfish 4.x refuses NULL / NOT NULL in ALTER COLUMN (babelfish_extensions #2771): state nothing there and set
  // ANSI_NULL_DFLT_ON ON (see 005).
  [/\bALTER\s+COLUMN\b[^;]*?\bNULL\b/i, 'NULL or NOT NULL in ALTER COLUMN (write SET ANSI_NULL_DFLT_ON ON; and ALTER COLUMN c type)'],
  // Babelfish 4.3: "'COLLATE in ALTER TABLE ALTER COLUMN' is not currently supported" (see 008).
  [/\bALTER\s+COLUMN\b[^;]*?\bCOLLATE\b/i, 'COLLATE in ALTER COLUMN (the column takes the database default; compare under COLLATE in the CHECK, see 008)'],
  // Babelfish 4.3 fails COL_LENGTH inside a transaction when the text runs through sp_executesql, as db:migrate runs
  // every file ("unsupported transaction command in PL/tsql").
  [/\bCOL_LENGTH\s*\(/i, "COL_LENGTH (read sys.columns: name, and max_length in bytes)"],
  [
    /\b(UPDLOCK|HOLDLOCK|ROWLOCK|NOLOCK|PAGLOCK|TABLOCKX?|XLOCK|READPAST|READUNCOMMITTED|REPEATABLEREAD|SERIALIZABLE|READCOMMITTEDLOCK)\b/i,
    'a lock hint or isolation level (correctness rests on keys)',
  ],
];

/** Why a CREATE INDEX is refused where it stands (see portabilityProblems). */
export const UNGUARDED_INDEX =
  'CREATE INDEX outside a block that creates its table or adds a column (IF OBJECT_ID(...) IS NULL / IF NOT EXISTS (SELECT ... FROM sys.columns ...))';

/**
 * What keeps a migration's text from running the same on SQL Server 2016+ / Azure SQL and on Babelfish 4.3, as
 * messages (empty: none). Comments are ignored, string literals are not (EXEC(N'...') runs them). Also refused: a
 * CREATE INDEX outside a BEGIN ... END block that, before it, created a table (guarded by IF OBJECT_ID(table) IS NULL)
 * or added a column (ALTER TABLE ... ADD column, guarded by IF NOT EXISTS (a sys.columns row)): the guards both
 * servers answer alike, so the index is created exactly when the block runs once. Babelfish keeps index names its own
 * way, so looking them up is no guard.
 */
export function portabilityProblems(text: string): string[] {
  const { code, skeleton } = lexSql(text);
  const problems = FORBIDDEN.filter(([pattern]) => pattern.test(code)).map(([, message]) => message);
  // Blocks, on the text without strings: BEGIN/CASE open one, END closes one; BEGIN TRAN opens none.
  const blocks: { createdTable: boolean }[] = [{ createdTable: false }];
  const tokens =
    /\b(BEGIN\s+TRAN(?:SACTION)?|BEGIN|CASE|END|CREATE\s+TABLE|ALTER\s+TABLE\s+[^\s;]+\s+ADD\s+(?!CONSTRAINT\b)\w+|CREATE\s+(?:UNIQUE\s+)?(?:(?:NON)?CLUSTERED\s+)?INDEX)\b/gi;
  for (const match of skeleton.matchAll(tokens)) {
    const token = (match[1] ?? '').toUpperCase().replace(/\s+/g, ' ');
    const top = blocks.at(-1);
    if (token.startsWith('BEGIN TRAN')) continue;
    if (token === 'BEGIN' || token === 'CASE') blocks.push({ createdTable: false });
    else if (token === 'END') {
      if (blocks.length > 1) blocks.pop();
    } else if (token === 'CREATE TABLE' || token.startsWith('ALTER TABLE')) {
      // A table created, or a column added, in this block: an index created after it here is created once.
      if (top !== undefined) top.createdTable = true;
    } else if (blocks.length === 1 || top?.createdTable !== true) {
      problems.push(UNGUARDED_INDEX);
    }
  }
  return problems;
}

/** `code`: the text without comments. `skeleton`: `code` with every string literal's content blanked. */
function lexSql(text: string): { code: string; skeleton: string } {
  let code = '';
  let skeleton = '';
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i, i + 2);
    if (rest === '--') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end;
    } else if (rest === '/*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 2;
      code += ' ';
      skeleton += ' ';
    } else if (text[i] === "'") {
      // A literal runs to the next lone quote; '' inside it is an escaped quote.
      let j = i + 1;
      while (j < text.length && !(text[j] === "'" && text[j + 1] !== "'")) j += text[j] === "'" ? 2 : 1;
      code += text.slice(i, j + 1);
      skeleton += `'${' '.repeat(Math.max(0, j - i - 1))}'`;
      i = j + 1;
    } else {
      code += text[i];
      skeleton += text[i];
      i += 1;
    }
  }
  return { code, skeleton };
}

/**
 * Every sql/ migration this code needs (sql/ is not deployed, so the names live here; a test keeps them equal to the
 * files). /api/health reports a database whose schema_migrations lacks any of them, or PROCEDURES_VERSION: the files
 * are not applied in number order when a lower-numbered one lands after a higher one was deployed, so the newest row
 * alone proves nothing.
 */
export const REQUIRED_MIGRATIONS: readonly string[] = [
  '001_sp_api_credentials',
  '002_sp_api_auth_attempts',
  '003_access_tokens',
  '004_ops_view',
  '005_truthful_record',
  '006_shared_access_tokens',
  '007_events',
  '008_credential_sweep',
  '009_service_heartbeat',
  '010_far_east_scope',
];

/** The newest of REQUIRED_MIGRATIONS. */
export const REQUIRED_MIGRATION = '010_far_east_scope';

/**
 * Why a database is behind this code, or undefined when it is not: `applied` is its newest numbered
 * schema_migrations row, `present` how many of REQUIRED_MIGRATIONS it records, `procedures` whether it records
 * PROCEDURES_VERSION.
 */
export function migrationBehind(applied: string | null, present: number, procedures: boolean): string | undefined {
  if (applied === null) return `schema_migrations is empty or missing, this code needs ${REQUIRED_MIGRATION}: run npm run db:migrate`;
  const number = (version: string) => Number(version.slice(0, 3));
  if (number(applied) < number(REQUIRED_MIGRATION)) return `schema_migrations ends at ${applied}, this code needs ${REQUIRED_MIGRATION}: run npm run db:migrate`;
  const missing = REQUIRED_MIGRATIONS.length - present;
  if (missing > 0) return `schema_migrations lacks ${missing} of the ${REQUIRED_MIGRATIONS.length} migrations this code needs (its newest is ${applied}): run npm run db:migrate`;
  if (!procedures) return `the stored procedures of this code (${PROCEDURES_VERSION}) are not created yet: run npm run db:migrate`;
  return undefined;
}

/**
 * Creates the schema and schema_migrations when missing, then applies each file not yet recorded, in its own
 * transaction together with its schema_migrations row. An application lock (per schema, held until commit)
 * serializes concurrent runners, e.g. two deployment slots. Each step is ONE batch with its transaction inside the
 * T-SQL (as in SqlServerStore): the file's text travels as a parameter and runs through sp_executesql, so it is
 * compiled as a batch of its own and needs no quoting; a file that fails, even to compile, is rolled back, rethrown
 * and not recorded (ROLLBACK_AND_RETHROW). Returns the versions applied by this call (PROCEDURES_VERSION last, when
 * the procedures were created by it).
 */
export async function applyMigrations(pool: sql.ConnectionPool, options: ApplyMigrationsOptions = {}): Promise<string[]> {
  const schema = assertSchemaName(options.schema ?? DEFAULT_SCHEMA);
  const log = options.log ?? ((): void => undefined);
  const files = listMigrationFiles();
  const history = `[${schema}].[schema_migrations]`;
  const lock = (request: sql.Request): sql.Request =>
    request.input('lockResource', sql.NVarChar(255), `sp-api-seller-auth:migrations:${schema}`).input('lockTimeout', sql.Int, LOCK_TIMEOUT_MS);

  // The CREATE TABLE runs through sp_executesql too: it names a schema this same batch may have just created.
  await lock(pool.request())
    .input('schema', sql.NVarChar(128), schema)
    .input('createHistory', sql.NVarChar(sql.MAX), `CREATE TABLE ${history} (
           version    VARCHAR(100) NOT NULL CONSTRAINT pk_schema_migrations PRIMARY KEY,
           applied_at DATETIME2(3) NOT NULL
         );`)
    .query(
      `SET XACT_ABORT ON;
       BEGIN TRY
         BEGIN TRANSACTION;
         ${TAKE_LOCK}
         IF SCHEMA_ID(@schema) IS NULL
         BEGIN
           DECLARE @statement NVARCHAR(300) = N'CREATE SCHEMA ' + QUOTENAME(@schema);
           EXEC sys.sp_executesql @statement;
         END;
         IF OBJECT_ID(N'${history}', N'U') IS NULL EXEC sys.sp_executesql @createHistory;
         COMMIT TRANSACTION;
       END TRY
       ${ROLLBACK_AND_RETHROW}`,
    );

  const applied: string[] = [];
  for (const file of files) {
    const text = renderMigration(readFileSync(file.path, 'utf8'), schema);
    const result = await lock(pool.request())
      .input('version', sql.VarChar(100), file.version)
      .input('migration', sql.NVarChar(sql.MAX), text)
      .query<{ applied: number }>(
        `SET XACT_ABORT ON;
         DECLARE @applied INT = 0;
         BEGIN TRY
           BEGIN TRANSACTION;
           ${TAKE_LOCK}
           IF NOT EXISTS (SELECT 1 FROM ${history} WHERE version = @version)
           BEGIN
             EXEC sys.sp_executesql @migration;
             INSERT INTO ${history} (version, applied_at) VALUES (@version, SYSUTCDATETIME());
             SET @applied = 1;
           END;
           COMMIT TRANSACTION;
         END TRY
         ${ROLLBACK_AND_RETHROW}
         SELECT @applied AS applied;`,
      );
    if (result.recordset[0]?.applied === 1) {
      applied.push(file.version);
      log(`applied ${file.version} to schema ${schema}`);
    }
  }
  if (await installProcedures(pool, schema, history, lock)) {
    applied.push(PROCEDURES_VERSION);
    log(`created the stored procedures ${PROCEDURES_VERSION} in schema ${schema}`);
  }
  return applied;
}

/**
 * The CATCH of a migration batch. XACT_ABORT alone does not stop a batch when the text run through sp_executesql (or
 * an EXEC inside it) fails to COMPILE (a syntax error, a statement naming a column this batch adds, a statement
 * Babelfish does not know): that scope ends, the caller carries on, and without TRY the INSERT into schema_migrations
 * and the COMMIT would still run, recording a migration that did not apply. Inside TRY any such error lands here:
 * rolled back (the transaction is doomed), then rethrown to the client. `;` before THROW: else it reads as a savepoint name.
 */
const ROLLBACK_AND_RETHROW = `BEGIN CATCH
           IF XACT_STATE() <> 0 ROLLBACK TRANSACTION;
           THROW;
         END CATCH;`;

/**
 * Statements (inside a batch's transaction) that take the per-schema migration lock until commit, or THROW when
 * sp_getapplock refuses (negative status: timeout, deadlock victim, error). Uses @lockResource and @lockTimeout.
 */
const TAKE_LOCK = `DECLARE @lockStatus INT;
       EXEC @lockStatus = sys.sp_getapplock @Resource = @lockResource, @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = @lockTimeout;
       IF @lockStatus < 0 THROW 50100, N'could not take the migration lock (sp_getapplock refused)', 1;`;

/**
 * The procedures of this code, in one transaction with their schema_migrations row: each created when missing (a
 * name is a definition's hash, so an existing one is already right, and one dropped by hand comes back on the next
 * run), never altered or dropped (older code may still call its own). CREATE PROCEDURE must open its batch: each definition travels as a parameter and runs through
 * sp_executesql. True when this call created them.
 */
async function installProcedures(pool: sql.ConnectionPool, schema: string, history: string, lock: (r: sql.Request) => sql.Request): Promise<boolean> {
  const request = lock(pool.request()).input('version', sql.VarChar(100), PROCEDURES_VERSION);
  const creates = OPERATIONS.map((operation, i) => {
    request.input(`p${i}`, sql.NVarChar(sql.MAX), procedureDefinition(operation, schema));
    return `IF OBJECT_ID(N'[${schema}].[${procedureName(operation)}]', N'P') IS NULL EXEC sys.sp_executesql @p${i};`;
  });
  const result = await request.query<{ applied: number }>(
    `SET XACT_ABORT ON;
     DECLARE @applied INT = 0;
     BEGIN TRY
       BEGIN TRANSACTION;
       ${TAKE_LOCK}
       ${creates.join('\n       ')}
       IF NOT EXISTS (SELECT 1 FROM ${history} WHERE version = @version)
       BEGIN
         INSERT INTO ${history} (version, applied_at) VALUES (@version, SYSUTCDATETIME());
         SET @applied = 1;
       END;
       COMMIT TRANSACTION;
     END TRY
     ${ROLLBACK_AND_RETHROW}
     SELECT @applied AS applied;`,
  );
  return result.recordset[0]?.applied === 1;
}
