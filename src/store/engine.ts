import type { HealthProbe, StoreHealth } from '../credentials/index.js';
import type { Operation } from './operations/operation.js';
import type { Dialect } from './sql/dialect.js';
import type { Row } from './sql/rows.js';
import type { Statement } from './sql/statements.js';
import { unstorable, type ParamTypes, type ParamValues } from './sql/types.js';

/**
 * One database engine under the store: it runs a statement (one request), an operation (one transaction; one EXEC on
 * SQL Server) and the health probe. SqlStore (the ports) is written once over this.
 */
export interface Engine {
  readonly dialect: Dialect;
  all<P extends ParamTypes>(statement: Statement<P>, params: ParamValues<P>): Promise<Row[]>;
  /** Rows changed. */
  run<P extends ParamTypes>(statement: Statement<P>, params: ParamValues<P>): Promise<number>;
  operation<P extends ParamTypes, R>(operation: Operation<P, R>, params: ParamValues<P>): Promise<R>;
  health(probe: HealthProbe): Promise<StoreHealth>;
  /** After an envelope was replaced: make sure no copy of the old value lingers in the engine's files. */
  forgetReplacedValues(): Promise<void>;
  isTransientError(error: unknown): boolean;
  close(): Promise<void>;
}

/**
 * Checks every value against its column's type before any engine sees it: a value that cannot be stored throws
 * (naming the column, never the value), except in a `lookups` parameter, which only selects rows: there it means no
 * row can match, answered 'absent' with no round trip.
 */
export function checkParams(types: ParamTypes, values: Readonly<Record<string, unknown>>, lookups: readonly string[] = []): 'absent' | undefined {
  let absent = false;
  for (const [name, type] of Object.entries(types)) {
    const problem = unstorable(name, type, values[name]);
    if (problem === undefined) continue;
    if (!lookups.includes(name)) throw new Error(problem);
    absent = true;
  }
  return absent ? 'absent' : undefined;
}
