import type { Dialect } from '../sql/dialect.js';
import type { Row } from '../sql/rows.js';
import type { Statement } from '../sql/statements.js';
import type { ParamTypes, ParamValues } from '../sql/types.js';

/**
 * One transactional step, in one place: its T-SQL (the body of a stored procedure that `npm run db:migrate` creates,
 * so the step is one small EXEC on SQL Server) beside the same work as one IMMEDIATE SQLite transaction. Both answer
 * the same rows, which `answer` maps once. The contract suite runs every operation against both engines.
 */
export interface Operation<P extends ParamTypes = ParamTypes, R = unknown> {
  /** snake_case; the procedure is `spapi_<name>_<hash of its definition>`, so two versions of the code can share a database. */
  readonly name: string;
  readonly params: P;
  /** Parameters that only select rows: a value no row can hold answers `absent` with no round trip at all. */
  readonly lookups?: readonly (keyof P & string)[];
  readonly absent?: R;
  /** The procedure's body (T-SQL; parameters as @name). */
  readonly tsql: (d: Dialect) => string;
  /** The same work on SQLite, inside one IMMEDIATE transaction, answering the rows the procedure SELECTs. */
  readonly sqlite: (tx: SqliteTx, p: ParamValues<P>) => Row[];
  /** On SQLite, a unique-index violation inside the transaction rolls it back and answers these rows. */
  readonly sqliteOnDuplicate?: Row[];
  readonly answer: (rows: Row[]) => R;
}

export const operation = <P extends ParamTypes, R>(definition: Operation<P, R>): Operation<P, R> => definition;

/** What a stored procedure is made of (any operation, whatever its parameters and answer). */
export type ProcedureSource = Pick<Operation, 'name' | 'params' | 'tsql'>;

/** What an operation's SQLite side may do inside its transaction. */
export interface SqliteTx {
  all(statement: Statement | string, params: object): Row[];
  get(statement: Statement | string, params: object): Row | undefined;
  /** Rows changed. */
  run(statement: Statement | string, params: object): number;
}

/** The first row's `column` of a procedure's answer, one of `allowed` (anything else is a bug, never guessed). */
export function outcomeOf<T extends string>(rows: readonly Row[], allowed: readonly T[], column = 'outcome'): T {
  const value = rows[0]?.[column];
  const found = allowed.find((candidate) => candidate === value);
  if (found === undefined) throw new Error(`the store answered an unexpected ${column}: ${String(value)}`);
  return found;
}

/** A whole count from a procedure's answer (mssql hands back numbers; BIGINT as strings). */
export function countOf(rows: readonly Row[], column: string): number {
  const value = Number(rows[0]?.[column]);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`the store answered no ${column} count`);
  return value;
}

/** SQL Server error numbers for a duplicate key, as a T-SQL list: unique constraint (2627) and unique index (2601). */
export const DUPLICATE_KEY = '2601, 2627';
