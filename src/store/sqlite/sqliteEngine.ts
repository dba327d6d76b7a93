import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { HealthProbe, StoreHealth } from '../../credentials/index.js';
import type { Engine } from '../engine.js';
import { packageRoot } from '../packageRoot.js';
import type { Operation, SqliteTx } from '../operations/operation.js';
import { sqliteDialect } from '../sql/dialect.js';
import { toEnvelopeSample, toIncident, type Row } from '../sql/rows.js';
import { INCIDENT_COLUMNS, render, type Statement } from '../sql/statements.js';
import type { ParamTypes, ParamValues } from '../sql/types.js';

/**
 * The embedded engine for local runs, the sandbox and tests: the same tables and columns as SQL Server, with dates as
 * ISO-8601 UTC text (which compares in time order). better-sqlite3 is a devDependency, loaded only when this engine
 * is chosen, so production installs never need it.
 *
 * The schema is versioned with `PRAGMA user_version`: sql/sqlite/NNN_*.sql takes a file from version NNN - 1 to NNN,
 * and opening applies, in one IMMEDIATE transaction, the steps above the file's version, so every file, fresh or
 * old, ends with the same schema. A shipped step is never edited: add one instead.
 */
const SCHEMA_DIRECTORY = join(packageRoot(), 'sql', 'sqlite');
const SCHEMA_STEPS: readonly string[] = readdirSync(SCHEMA_DIRECTORY)
  .filter((name) => /^\d{3}_[a-z0-9_]+\.sql$/.test(name))
  .sort()
  .map((name, index) => {
    if (Number(name.slice(0, 3)) !== index + 1) throw new Error(`sql/sqlite: ${name} is out of sequence`);
    return readFileSync(join(SCHEMA_DIRECTORY, name), 'utf8');
  });

/** The user_version of a file this code has opened. */
export const SQLITE_SCHEMA_VERSION = SCHEMA_STEPS.length;

/** The schema version that created service_incidents (009_far_east_scope). */
const INCIDENTS_SINCE = 9;

/** After opening, requests wait only briefly: better-sqlite3 waits for a lock synchronously, holding the event loop. */
const BUSY_TIMEOUT_MS = 200;

export async function openSqliteEngine(path: string): Promise<SqliteEngine> {
  const { default: Database } = await import('better-sqlite3');
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    // Opening may wait for another process's migration; afterwards the flow retries (isTransientError) asynchronously.
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    // Freed pages and cells are zeroed, so a value replaced or moved (a plain MWS token sealed, a table rebuilt by a
    // schema step) leaves no copy in the file's free space.
    db.pragma('secure_delete = ON');
    migrate(db);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  } catch (error) {
    db.close();
    throw error;
  }
  return new SqliteEngine(db);
}

/**
 * Brings the file to SQLITE_SCHEMA_VERSION in one IMMEDIATE transaction (the write lock is taken before the version
 * is read, so two processes opening one file do not both migrate it); user_version is written in the same
 * transaction, so a failed step leaves the file as it was. A file from newer code is refused, not downgraded.
 */
function migrate(db: BetterSqlite3.Database): void {
  db.transaction(() => {
    const current = Number(db.pragma('user_version', { simple: true }));
    if (!Number.isSafeInteger(current) || current < 0 || current > SQLITE_SCHEMA_VERSION) {
      throw new Error(`SQLite schema version ${String(current)} is not one this code knows (0 to ${SQLITE_SCHEMA_VERSION}): was the file written by newer code?`);
    }
    for (const step of SCHEMA_STEPS.slice(current)) db.exec(step);
    // Integer from a constant, never from input: PRAGMA takes no parameters.
    if (current < SQLITE_SCHEMA_VERSION) db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
  }).immediate();
}

/** Dates as ISO text, everything else as it is (undefined as NULL). */
function bind(params: object): Record<string, unknown> {
  const bound: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params)) bound[name] = value instanceof Date ? value.toISOString() : (value ?? null);
  return bound;
}

/**
 * Every write transaction is IMMEDIATE: it takes the write lock when it begins, so a busy file makes it wait
 * (busy_timeout) and then fail as transient. A deferred one that reads before it writes would instead fail at once,
 * without waiting, whenever another connection wrote in between (SQLITE_BUSY_SNAPSHOT).
 */
export class SqliteEngine implements Engine {
  readonly dialect = sqliteDialect;
  private readonly prepared = new Map<string, BetterSqlite3.Statement>();
  private readonly tx: SqliteTx = {
    all: (statement, params) => this.prepare(statement).all(bind(params)) as Row[],
    get: (statement, params) => this.prepare(statement).get(bind(params)) as Row | undefined,
    run: (statement, params) => this.prepare(statement).run(bind(params)).changes,
  };

  constructor(private readonly db: BetterSqlite3.Database) {}

  async all<P extends ParamTypes>(statement: Statement<P>, params: ParamValues<P>): Promise<Row[]> {
    return this.tx.all(statement, params);
  }

  async run<P extends ParamTypes>(statement: Statement<P>, params: ParamValues<P>): Promise<number> {
    return this.tx.run(statement, params);
  }

  async operation<P extends ParamTypes, R>(operation: Operation<P, R>, params: ParamValues<P>): Promise<R> {
    let rows: Row[];
    try {
      rows = this.db.transaction(() => operation.sqlite(this.tx, params)).immediate();
    } catch (error) {
      if (operation.sqliteOnDuplicate === undefined || !isUniqueViolation(error)) throw error;
      rows = operation.sqliteOnDuplicate;
    }
    return operation.answer(rows);
  }

  /** Not a transaction: a file that refuses writes must still be reported, with its schema and sample. */
  async health(probe: HealthProbe): Promise<StoreHealth> {
    let writeRefused: string | undefined;
    try {
      this.db
        .prepare('INSERT INTO service_heartbeat (id, beat_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at')
        .run(probe.now.toISOString());
    } catch (error) {
      writeRefused = error instanceof Error ? error.message : 'unknown error';
    }
    const version = Number(this.db.pragma('user_version', { simple: true }));
    const schemaBehind =
      version < SQLITE_SCHEMA_VERSION ? `the SQLite file is at schema version ${version}, this code needs ${SQLITE_SCHEMA_VERSION}: restart to upgrade it` : undefined;
    const sample = 'SELECT customer_id, region, lwa_refresh_token FROM sp_api_credentials WHERE lwa_refresh_token IS NOT NULL';
    const rows = this.db
      .prepare(
        `SELECT * FROM (${sample} ORDER BY lwa_refresh_token_date DESC, customer_id LIMIT @size)
         UNION SELECT * FROM (${sample} ORDER BY lwa_refresh_token_date ASC, customer_id LIMIT @size)`,
      )
      .all({ size: probe.sampleSize }) as Row[];
    const incidents = version >= INCIDENTS_SINCE ? (this.db.prepare(`SELECT ${INCIDENT_COLUMNS} FROM service_incidents ORDER BY kind`).all() as Row[]) : [];
    return { incidents: incidents.map(toIncident), writeRefused, schemaBehind, samples: rows.map(toEnvelopeSample).filter((s) => s !== undefined) };
  }

  /**
   * The replaced value (a plain MWS token, an envelope under a retired key) is still in earlier WAL frames: copy the
   * zeroed pages into the file and empty the WAL. Best effort: a reader still using old frames leaves it for later.
   */
  async forgetReplacedValues(): Promise<void> {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** SQLITE_BUSY (another connection holds the write lock past busy_timeout) and SQLITE_LOCKED, with their extended codes. */
  isTransientError(error: unknown): boolean {
    return error instanceof Error && 'code' in error && typeof error.code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(error.code);
  }

  async close(): Promise<void> {
    this.db.close();
  }

  private prepare(statement: Statement | string): BetterSqlite3.Statement {
    const text = typeof statement === 'string' ? statement : render(statement, this.dialect);
    let prepared = this.prepared.get(text);
    if (prepared === undefined) {
      prepared = this.db.prepare(text);
      this.prepared.set(text, prepared);
    }
    return prepared;
  }
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'SQLITE_CONSTRAINT_UNIQUE';
}
