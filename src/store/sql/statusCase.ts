import { STATUS_CHANGES, type StatusEvent } from '../../credentials/index.js';

/** The SQL spelling of the domain's rules, from its constants (never from input). */

/**
 * `CASE status WHEN … THEN … ELSE status END` for one event, written from STATUS_CHANGES (constants only, never
 * input), so the SQL of both stores and the table cannot disagree.
 */
export function statusCaseSql(event: StatusEvent, column = 'status'): string {
  const pairs = Object.entries(STATUS_CHANGES[event]).filter(([from, to]) => from !== to);
  if (pairs.length === 0) return column;
  return `CASE ${column} ${pairs.map(([from, to]) => `WHEN '${from}' THEN '${to}'`).join(' ')} ELSE ${column} END`;
}

/**
 * isLastAttemptCandidate (credentials/attempts.ts) as an SQL condition on an attempts alias, written from constants
 * only; the views in the migrations spell out the same rule.
 */
export function lastAttemptConditionSql(alias: string): string {
  return `(${alias}.flow IN ('website', 'appstore') OR (${alias}.flow = 'reauthorize' AND ${alias}.consumed_at IS NOT NULL))`;
}

/**
 * attemptEndedAt (credentials/attempts.ts) as an SQL condition on an attempts alias at `now` (a parameter): any outcome
 * but pending, or pending and abandoned (unconsumed past expires_at) or interrupted (past exchange_deadline). For the
 * set-based purge; the contract suite holds it to the TypeScript rule.
 */
export function attemptEndedSql(alias: string, now: string): string {
  return `(${alias}.outcome <> 'pending' OR (${alias}.consumed_at IS NULL AND ${alias}.expires_at <= ${now}) OR ${alias}.exchange_deadline <= ${now})`;
}
