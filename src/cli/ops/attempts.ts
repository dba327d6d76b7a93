import { attemptOutcomeAt, type AttemptRecord } from '../../credentials/index.js';
import { listingArguments, parseDuration, type OpsOptions } from './arguments.js';
import type { OpsContext } from './context.js';
import { table, time } from './format.js';

export const ATTEMPTS_USAGE = 'npm run ops -- attempts [--customer ID] [--since 24h|7d|90m] [--json]';

const DEFAULT_SINCE = '24h';

export interface AttemptsCommand {
  kind: 'attempts';
  customerId: string | undefined;
  sinceMs: number;
  json: boolean;
}

export function parseAttempts(options: OpsOptions, extra: string[]): AttemptsCommand | string {
  const listing = listingArguments('attempts', options, extra);
  if (typeof listing === 'string') return listing;
  if (options.expiring !== undefined) return '--expiring belongs to status, not attempts';
  const sinceMs = parseDuration(options.since ?? DEFAULT_SINCE);
  if (sinceMs === undefined) return '--since takes a duration such as 90m, 24h or 7d';
  return { kind: 'attempts', customerId: listing.customerId, sinceMs, json: listing.json };
}

/** The attempts of the period, newest first (at most 200), printed without their hashes. */
export async function runAttempts(command: AttemptsCommand, { services, now, print }: OpsContext): Promise<number> {
  const since = new Date(now.getTime() - command.sinceMs);
  const attempts = await services.store.listRecentAttempts({ customerId: command.customerId, since });
  if (command.json) {
    print(JSON.stringify(attempts.map((a) => publicAttempt(a, now)), null, 2));
    return 0;
  }
  const header = ['time (UTC)', 'flow', 'customer', 'scope', 'outcome', 'reason', 'lwa_error'];
  const body = attempts.map((a) => [time(a.createdAt), a.flow, a.customerId, a.scope, attemptOutcomeAt(a, now), a.reason, a.lwaError]);
  for (const line of table(header, body)) print(line);
  print(`${attempts.length} ${attempts.length === 1 ? 'attempt' : 'attempts'} since ${since.toISOString()}${command.customerId === undefined ? '' : ` for customer ${command.customerId}`}`);
  return 0;
}

/**
 * What `attempts --json` shows of an attempt: everything but the state, browser-binding and code hashes, named as the
 * columns of sp_api_auth_attempts (snake_case, as the HTTP API), dates ISO-8601 UTC.
 */
function publicAttempt(a: AttemptRecord, now: Date): Record<string, string | number | null> {
  const iso = (d: Date | null) => (d === null ? null : d.toISOString());
  return {
    attempt_id: a.attemptId,
    created_at: iso(a.createdAt),
    flow: a.flow,
    customer_id: a.customerId,
    scope: a.scope,
    region: a.region,
    marketplace: a.marketplace,
    selling_partner_id: a.sellingPartnerId,
    expected_selling_partner_id: a.expectedSellingPartnerId,
    outcome: attemptOutcomeAt(a, now),
    reason: a.reason,
    lwa_error: a.lwaError,
    lwa_error_description: a.lwaErrorDescription,
    consumed_at: iso(a.consumedAt),
    completed_at: iso(a.completedAt),
    related_attempt_id: a.relatedAttemptId,
  };
}
