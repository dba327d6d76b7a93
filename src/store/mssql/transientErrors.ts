/**
 * SQL Server error numbers worth one more try: 1205 deadlock victim, 1222 lock request timeout; Azure SQL's
 * transient errors: 40613 database not currently available, 40197 service error processing the request (failover),
 * 40501 service busy, 49918/49919/49920 not enough resources / too many operations, 4060 cannot open the database,
 * 4221 login timed out waiting for the secondary replica.
 */
const TRANSIENT_ERROR_NUMBERS: ReadonlySet<number> = new Set([1205, 1222, 40613, 40197, 40501, 49918, 49919, 49920, 4060, 4221]);

/**
 * mssql/tedious codes of a connection lost or never made in time: ConnectionError ESOCKET (with the socket's
 * ECONNRESET underneath), ECONNRESET, ECONNCLOSED (the pool's connection was closed), ETIMEOUT (a connect or a
 * request that timed out; XACT_ABORT ON rolls the procedure's transaction back when tedious cancels it).
 */
const TRANSIENT_ERROR_CODES: ReadonlySet<string> = new Set(['ESOCKET', 'ECONNRESET', 'ECONNCLOSED', 'ETIMEOUT']);

/**
 * A deadlock victim, a lock timeout, Azure SQL's transient numbers, and a lost connection or a request timeout,
 * looked for through mssql's wrappers (originalError, info, precedingErrors, cause).
 */
export function isTransientSqlServerError(error: unknown): boolean {
  const { numbers, codes } = errorDetails(error);
  return numbers.some((n) => TRANSIENT_ERROR_NUMBERS.has(n)) || codes.some((c) => TRANSIENT_ERROR_CODES.has(c));
}

/** The `number`s and `code`s of an error and of the errors it wraps, depth-bounded so a cycle cannot loop. */
function errorDetails(error: unknown, depth = 0): { numbers: number[]; codes: string[] } {
  const found = { numbers: [] as number[], codes: [] as string[] };
  if (typeof error !== 'object' || error === null || depth > 5) return found;
  if ('number' in error && typeof error.number === 'number') found.numbers.push(error.number);
  if ('code' in error && typeof error.code === 'string') found.codes.push(error.code);
  const nested: unknown[] = [];
  if ('originalError' in error) nested.push(error.originalError);
  if ('info' in error) nested.push(error.info);
  if ('cause' in error) nested.push(error.cause);
  if ('precedingErrors' in error && Array.isArray(error.precedingErrors)) nested.push(...(error.precedingErrors as unknown[]));
  for (const inner of nested) {
    const more = errorDetails(inner, depth + 1);
    found.numbers.push(...more.numbers);
    found.codes.push(...more.codes);
  }
  return found;
}
