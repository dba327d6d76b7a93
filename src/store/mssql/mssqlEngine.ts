import sql from 'mssql';
import type { HealthProbe, StoreHealth } from '../../credentials/index.js';
import type { Engine } from '../engine.js';
import type { Operation } from '../operations/operation.js';
import { mssqlDialect, type Dialect } from '../sql/dialect.js';
import { text, toEnvelopeSample, toIncident, type Row } from '../sql/rows.js';
import { render, type Statement } from '../sql/statements.js';
import type { ParamTypes, ParamValues, SqlType } from '../sql/types.js';
import { DEFAULT_SCHEMA, migrationBehind, REQUIRED_MIGRATIONS } from './migrations.js';
import { closePool, getPool, type SqlServerSettings } from './pool.js';
import { procedureName, PROCEDURES_VERSION } from './procedures.js';
import { isTransientSqlServerError } from './transientErrors.js';

/**
 * The production engine: Azure SQL / SQL Server through mssql (tedious). Tables and procedures come from
 * `npm run db:migrate`; this class never creates them. Every call is ONE request: a statement is a parameterized
 * query, an operation is an EXEC of its stored procedure (a small RPC request, whatever the transaction inside), each
 * value a typed input. Correctness rests on keys and single-statement conditional updates, never on lock hints or
 * isolation levels (Azure SQL runs READ COMMITTED SNAPSHOT; Babelfish ignores hints).
 */
export async function openMssqlEngine(settings: SqlServerSettings, options: { schema?: string } = {}): Promise<MssqlEngine> {
  return new MssqlEngine(await getPool(settings), options.schema ?? DEFAULT_SCHEMA);
}

export class MssqlEngine implements Engine {
  readonly dialect: Dialect;
  private readonly texts = new WeakMap<Statement, string>();

  constructor(
    private readonly pool: sql.ConnectionPool,
    private readonly schema: string,
  ) {
    this.dialect = mssqlDialect(schema);
  }

  async all<P extends ParamTypes>(statement: Statement<P>, params: ParamValues<P>): Promise<Row[]> {
    const result = await this.request(statement.params, params).query<Row>(this.text(statement));
    return result.recordset ?? [];
  }

  async run<P extends ParamTypes>(statement: Statement<P>, params: ParamValues<P>): Promise<number> {
    const result = await this.request(statement.params, params).query<Row>(this.text(statement));
    return result.rowsAffected[0] ?? 0;
  }

  async operation<P extends ParamTypes, R>(operation: Operation<P, R>, params: ParamValues<P>): Promise<R> {
    const result = await this.request(operation.params, params).execute<Row>(`[${this.schema}].[${procedureName(operation)}]`);
    return operation.answer(result.recordset ?? []);
  }

  /**
   * One batch, no transaction (the probe must answer on a database db:migrate has not reached, so no procedure): the
   * heartbeat write in TRY/CATCH, so a refused write is answered with the schema and the sample rather than failing
   * (a duplicate key, another instance inserting the row first, is no refusal); statements naming service_heartbeat
   * and schema_migrations run only when OBJECT_ID finds them. One result set: the write error and the schema on every
   * row, left-joined to the sampled envelopes.
   */
  async health(probe: HealthProbe): Promise<StoreHealth> {
    const d = this.dialect;
    const sample = `SELECT TOP (@sample) customer_id, region, lwa_refresh_token FROM ${d.t('credentials')} WHERE lwa_refresh_token IS NOT NULL`;
    const result = await this.pool
      .request()
      .input('now', sql.DateTime2(3), probe.now)
      .input('sample', sql.Int, probe.sampleSize)
      .input('required', sql.VarChar(4000), `,${REQUIRED_MIGRATIONS.join(',')},`)
      .input('procedures', sql.VarChar(100), PROCEDURES_VERSION)
      .query<Row>(
        compact(`DECLARE @writeError NVARCHAR(2048) = NULL, @version VARCHAR(100) = NULL, @present INT = 0, @proceduresPresent INT = 0;
        IF OBJECT_ID(N'${d.t('heartbeat')}', N'U') IS NULL
        BEGIN
          SET @writeError = N'service_heartbeat does not exist';
        END
        ELSE
        BEGIN
          BEGIN TRY
            UPDATE ${d.t('heartbeat')} SET beat_at = @now WHERE id = 1;
            IF @@ROWCOUNT = 0 INSERT INTO ${d.t('heartbeat')} (id, beat_at) VALUES (1, @now);
          END TRY
          BEGIN CATCH
            IF ERROR_NUMBER() NOT IN (2601, 2627) SET @writeError = ERROR_MESSAGE();
          END CATCH;
        END;
        IF OBJECT_ID(N'${d.t('migrations')}', N'U') IS NOT NULL
          SELECT @version = MAX(CASE WHEN LEFT(version, 1) BETWEEN '0' AND '9' THEN version END),
            @present = COALESCE(SUM(CASE WHEN CHARINDEX(',' + version + ',', @required) > 0 THEN 1 ELSE 0 END), 0),
            @proceduresPresent = COALESCE(SUM(CASE WHEN version = @procedures THEN 1 ELSE 0 END), 0)
          FROM ${d.t('migrations')};
        SELECT @writeError AS write_error, @version AS schema_version, @present AS schema_present, @proceduresPresent AS procedures_present,
          s.customer_id, s.region, s.lwa_refresh_token
        FROM (SELECT 1 AS one) AS probe
        LEFT JOIN (
          SELECT * FROM (${sample} ORDER BY lwa_refresh_token_date DESC, customer_id) AS newest
          UNION
          SELECT * FROM (${sample} ORDER BY lwa_refresh_token_date ASC, customer_id) AS oldest
        ) AS s ON 1 = 1;
        IF OBJECT_ID(N'${d.t('incidents')}', N'U') IS NOT NULL SELECT * FROM ${d.t('incidents')};`),
      );
    const rows = result.recordset ?? [];
    const first = rows[0];
    return {
      incidents: (result.recordsets as Row[][] | undefined)?.[1]?.map(toIncident).sort((a, b) => a.kind.localeCompare(b.kind)) ?? [],
      writeRefused: text(first?.['write_error']) ?? undefined,
      schemaBehind: migrationBehind(text(first?.['schema_version']), Number(first?.['schema_present'] ?? 0), Number(first?.['procedures_present'] ?? 0) > 0),
      samples: rows.map(toEnvelopeSample).filter((s) => s !== undefined),
    };
  }

  async forgetReplacedValues(): Promise<void> {
    // SQL Server keeps no copy the application could clear; backups are the DBA's (docs/storage.md).
  }

  isTransientError(error: unknown): boolean {
    return isTransientSqlServerError(error);
  }

  /** Closes the pool, which other stores opened with the same settings share, and forgets it. */
  async close(): Promise<void> {
    await closePool(this.pool);
  }

  private text(statement: Statement): string {
    let found = this.texts.get(statement);
    if (found === undefined) this.texts.set(statement, (found = compact(render(statement, this.dialect))));
    return found;
  }

  /** A request with every declared parameter as a typed input (NULL when not given). */
  private request(types: ParamTypes, params: Readonly<Record<string, unknown>>): sql.Request {
    const request = this.pool.request();
    for (const [name, type] of Object.entries(types)) request.input(name, mssqlType(type), params[name] ?? null);
    return request;
  }
}

function mssqlType(type: SqlType): sql.ISqlType | (() => sql.ISqlType) {
  switch (type.kind) {
    case 'nvarchar':
      return sql.NVarChar(type.length);
    case 'varchar':
      return sql.VarChar(type.length);
    case 'datetime':
      return sql.DateTime2(3);
    case 'int':
      return sql.Int;
    case 'bigint':
      return sql.BigInt;
  }
}

/** The text as sent: indentation dropped (a request's size is its text twice over, UTF-16), line breaks kept for `--`. */
const compact = (text: string): string => text.replace(/\n\s+/g, '\n').trim();
