import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { App } from '../app.js';
import type { SettingValues } from '../config/settings.js';
import { readLocalSettingValues } from '../config/localSettings.js';
import { consoleLogger } from '../http/logging.js';
import { isSandbox, sandboxEnvironment } from '../sandbox/sandboxSettings.js';
import type { AttemptRecord, CredentialStatusRow, CredentialStore } from '../store/credentialStore.js';

/**
 * `npm run ops -- status [--customer ID] [--expiring DAYS] [--json]`: every credential row with its re-authorization
 * deadline (Amazon's 365 days), whole days left, and last attempt; `--expiring 30` keeps the rows due within 30 days
 * (expired ones included). `npm run ops -- attempts [--customer ID] [--since 24h|7d|90m] [--json]`: the attempts of
 * that period, newest first (at most 200). Settings as the app reads them (environment over local.settings.json; the
 * sandbox's own locally), on SQLite or SQL Server alike: only the CredentialStore interface is used, which never hands
 * out a secret column (no refresh token, code or MWS token; attempts are printed without their hashes).
 * Exit codes: 0 done, 1 settings or store problem, 2 bad arguments (usage printed).
 */
export const OPS_USAGE = [
  'usage: npm run ops -- status [--customer ID] [--expiring DAYS] [--json]',
  '       npm run ops -- attempts [--customer ID] [--since 24h|7d|90m] [--json]',
].join('\n');

const DEFAULT_SINCE = '24h';
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const LAST_ERROR_WIDTH = 40;

type Command =
  | { kind: 'status'; customerId: string | undefined; expiringWithinDays: number | undefined; json: boolean }
  | { kind: 'attempts'; customerId: string | undefined; sinceMs: number; json: boolean }
  | { kind: 'help' };

/** The command without process I/O, so tests can run it: argv, the settings, the time, and where lines go. */
export async function opsCommand(argv: string[], values: SettingValues, now: Date, print: (line: string) => void): Promise<number> {
  const parsed = parseCommand(argv);
  if (typeof parsed === 'string') {
    print(`ops: ${parsed}`);
    print(OPS_USAGE);
    return 2;
  }
  if (parsed.kind === 'help') {
    print(OPS_USAGE);
    return 0;
  }

  const app = new App({ values, environment: { inAzure: false }, logger: consoleLogger((line) => print(line)) });
  try {
    const state = await app.state();
    if (!state.ok) {
      for (const problem of state.problems) print(`ops: ${problem}`);
      return 1;
    }
    const { store } = state.services;
    if (parsed.kind === 'status') await printStatus(store, parsed, now, print);
    else await printAttempts(store, parsed, now, print);
    return 0;
  } finally {
    await app.close();
  }
}

/** The command, or what is wrong with the arguments. */
function parseCommand(argv: string[]): Command | string {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        customer: { type: 'string' },
        expiring: { type: 'string' },
        since: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    return error instanceof Error ? error.message : 'bad arguments';
  }
  const { values: options, positionals } = parsed;
  if (options.help === true) return { kind: 'help' };
  const [kind, ...extra] = positionals;
  if (kind === undefined) return 'say status or attempts';
  if (extra.length > 0) return `unexpected argument "${extra.join(' ')}"`;
  const customerId = options.customer;
  if (customerId !== undefined && customerId.trim() === '') return '--customer needs a customer id';
  const json = options.json === true;

  if (kind === 'status') {
    if (options.since !== undefined) return '--since belongs to attempts, not status';
    let expiringWithinDays: number | undefined;
    if (options.expiring !== undefined) {
      if (!/^\d{1,5}$/.test(options.expiring)) return '--expiring takes a whole number of days, e.g. --expiring 30';
      expiringWithinDays = Number(options.expiring);
    }
    return { kind: 'status', customerId, expiringWithinDays, json };
  }
  if (kind === 'attempts') {
    if (options.expiring !== undefined) return '--expiring belongs to status, not attempts';
    const sinceMs = parseDuration(options.since ?? DEFAULT_SINCE);
    if (sinceMs === undefined) return '--since takes a duration such as 90m, 24h or 7d';
    return { kind: 'attempts', customerId, sinceMs, json };
  }
  return `unknown command "${kind}"`;
}

/** `90m`, `24h`, `7d` → milliseconds; anything else (zero included) → undefined. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,6})([mhd])$/.exec(text.trim());
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  const amount = Number(match[1]);
  if (amount < 1) return undefined;
  return amount * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

async function printStatus(
  store: CredentialStore,
  command: Extract<Command, { kind: 'status' }>,
  now: Date,
  print: (line: string) => void,
): Promise<void> {
  const rows = await store.listCredentialStatus({ customerId: command.customerId, expiringWithinDays: command.expiringWithinDays }, now);
  if (command.json) {
    print(JSON.stringify(rows, null, 2));
    return;
  }
  const header = ['customer', 'region', 'marketplace', 'seller', 'status', 'granted', 'reauthorize by', 'days left', 'last attempt', 'outcome/reason', 'last error'];
  const body = rows.map((r: CredentialStatusRow) => [
    r.customerId,
    r.region,
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
}

async function printAttempts(
  store: CredentialStore,
  command: Extract<Command, { kind: 'attempts' }>,
  now: Date,
  print: (line: string) => void,
): Promise<void> {
  const since = new Date(now.getTime() - command.sinceMs);
  const attempts = await store.listRecentAttempts({ customerId: command.customerId, since });
  if (command.json) {
    print(JSON.stringify(attempts.map(publicAttempt), null, 2));
    return;
  }
  const header = ['time (UTC)', 'flow', 'customer', 'region', 'outcome', 'reason', 'lwa_error'];
  const body = attempts.map((a) => [time(a.createdAt), a.flow, a.customerId, a.region, a.outcome, a.reason, a.lwaError]);
  for (const line of table(header, body, new Set())) print(line);
  print(`${attempts.length} ${attempts.length === 1 ? 'attempt' : 'attempts'} since ${since.toISOString()}${command.customerId === undefined ? '' : ` for customer ${command.customerId}`}`);
}

/** What `attempts --json` shows of an attempt: everything but the state, browser-binding and code hashes. */
function publicAttempt(a: AttemptRecord): Record<string, unknown> {
  return {
    attemptId: a.attemptId,
    createdAt: a.createdAt,
    flow: a.flow,
    customerId: a.customerId,
    region: a.region,
    marketplace: a.marketplace,
    sellingPartnerId: a.sellingPartnerId,
    expectedSellingPartnerId: a.expectedSellingPartnerId,
    outcome: a.outcome,
    reason: a.reason,
    lwaError: a.lwaError,
    lwaErrorDescription: a.lwaErrorDescription,
    consumedAt: a.consumedAt,
    completedAt: a.completedAt,
    relatedAttemptId: a.relatedAttemptId,
  };
}

const day = (d: Date | null): string | null => (d === null ? null : d.toISOString().slice(0, 10));
const time = (d: Date): string => `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 19)}`;

function truncate(value: string | null, width: number): string | null {
  if (value === null) return null;
  const chars = [...value];
  return chars.length <= width ? value : `${chars.slice(0, width - 1).join('')}…`;
}

/** One line per row: control characters (a newline in a customer id or an error) cannot break the table. */
const cell = (value: string | null): string => (value === null || value === '' ? '-' : value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?'));
const width = (text: string): number => [...text].length;

/** Aligned plain-text columns, two spaces apart; the columns in `right` are right-aligned (numbers). */
function table(header: string[], rows: (string | null)[][], right: ReadonlySet<number>): string[] {
  const cells = [header, ...rows.map((row) => row.map(cell))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => width(row[i] ?? ''))));
  const pad = (text: string, i: number): string => {
    const gap = ' '.repeat((widths[i] ?? 0) - width(text));
    return right.has(i) ? gap + text : text + gap;
  };
  const line = (row: string[]): string => row.map((text, i) => pad(text, i)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const local = readLocalSettingValues();
  const values = isSandbox(local.values, false) ? sandboxEnvironment(local.values, `http://localhost:${process.env['PORT'] ?? 7071}`).values : local.values;
  const lines: string[] = [];
  const code = await opsCommand(process.argv.slice(2), values, new Date(), (line) => lines.push(line));
  // Usage and problems go to stderr, results to stdout (so `--json > file` holds JSON only).
  for (const line of lines) (code === 0 ? console.log : console.error)(line);
  process.exitCode = code;
}
