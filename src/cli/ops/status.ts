import type { CredentialStatusRow } from '../../credentials/index.js';
import { statusJson } from '../../http/routes.js';
import { listingArguments, type OpsOptions } from './arguments.js';
import type { OpsContext } from './context.js';
import { day, table, truncate } from './format.js';

export const STATUS_USAGE = 'npm run ops -- status [--customer ID] [--expiring DAYS] [--json]';

const LAST_ERROR_WIDTH = 40;

export interface StatusCommand {
  kind: 'status';
  customerId: string | undefined;
  expiringWithinDays: number | undefined;
  json: boolean;
}

export function parseStatus(options: OpsOptions, extra: string[]): StatusCommand | string {
  const listing = listingArguments('status', options, extra);
  if (typeof listing === 'string') return listing;
  if (options.since !== undefined) return '--since belongs to attempts, not status';
  let expiringWithinDays: number | undefined;
  if (options.expiring !== undefined) {
    if (!/^\d{1,5}$/.test(options.expiring)) return '--expiring takes a whole number of days, e.g. --expiring 30';
    expiringWithinDays = Number(options.expiring);
  }
  return { kind: 'status', customerId: listing.customerId, expiringWithinDays, json: listing.json };
}

/**
 * Every credential row with its re-authorization deadline (Amazon's 365 days), whole days left, and last attempt;
 * `--expiring 30` keeps the rows due within 30 days (expired ones included).
 */
export async function runStatus(command: StatusCommand, { services, now, print }: OpsContext): Promise<number> {
  const rows = await services.store.listCredentialStatus({ customerId: command.customerId, expiringWithinDays: command.expiringWithinDays }, now);
  if (command.json) {
    // The same objects as GET /api/credentials returns (snake_case, as the HTTP API and the SQL view).
    print(JSON.stringify(rows.map(statusJson), null, 2));
    return 0;
  }
  const header = ['customer', 'scope', 'marketplace', 'seller', 'status', 'granted', 'reauthorize by', 'days left', 'last attempt', 'outcome/reason', 'last error'];
  const body = rows.map((r: CredentialStatusRow) => [
    r.customerId,
    r.scope,
    r.marketplace,
    r.sellingPartnerId,
    r.status,
    day(r.authGrantedDate),
    day(r.reauthorizeBy),
    r.daysLeft === null ? null : String(r.daysLeft),
    day(r.lastAttemptAt),
    r.lastAttemptOutcome === null ? null : r.lastAttemptReason === null ? r.lastAttemptOutcome : `${r.lastAttemptOutcome}/${r.lastAttemptReason}`,
    truncate(r.lastError, LAST_ERROR_WIDTH),
  ]);
  for (const line of table(header, body, new Set([7]))) print(line);
  const filters = [
    command.customerId === undefined ? undefined : `customer ${command.customerId}`,
    command.expiringWithinDays === undefined ? undefined : `due within ${command.expiringWithinDays} days`,
  ].filter((f) => f !== undefined);
  print(`${rows.length} ${rows.length === 1 ? 'row' : 'rows'}${filters.length > 0 ? ` (${filters.join(', ')})` : ''} at ${now.toISOString()}`);
  return 0;
}
