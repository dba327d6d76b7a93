import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline/promises';
import {
  attemptOutcomeAt,
  isRegion,
  type AttemptRecord,
  type CredentialStatusRow,
  type CredentialStore,
  type Logger,
  type Region,
} from '../credentials/index.js';
import { App, type Services } from '../app.js';
import { isValidCustomerId } from '../authorization/launchLink.js';
import { unlinkCredential } from '../authorization/unlinkCredential.js';
import { importRefreshToken, REFRESH_TOKEN_PREFIX } from '../authorization/importRefreshToken.js';
import type { SettingValues } from '../config/settings.js';
import { consoleLogger } from '../logging/logging.js';
import { statusJson } from '../http/routes.js';
import { runCommand } from './help.js';
import { prepareLocalRun } from './localRun.js';

/**
 * `npm run ops -- status [--customer ID] [--expiring DAYS] [--json]`: every credential row with its re-authorization
 * deadline (Amazon's 365 days), whole days left, and last attempt; `--expiring 30` keeps the rows due within 30 days
 * (expired ones included). `npm run ops -- attempts [--customer ID] [--since 24h|7d|90m] [--json]`: the attempts of
 * that period, newest first (at most 200). Settings as the app reads them (environment over local.settings.json; the
 * sandbox's own locally), on SQLite or SQL Server alike: only the CredentialStore interface is used, which never hands
 * out a secret column (no refresh token, code or MWS token; attempts are printed without their hashes).
 * Exit codes: 0 done, 1 settings or store problem, 2 bad arguments (usage printed).
 */
/** Attempts are audit, kept this long by default (`purge --older-than`); credential rows are never purged. */
export const DEFAULT_RETENTION = '90d';

export const OPS_USAGE = [
  'usage: npm run ops -- status [--customer ID] [--expiring DAYS] [--json]',
  '       npm run ops -- attempts [--customer ID] [--since 24h|7d|90m] [--json]',
  '       npm run ops -- unlink --customer ID --region NA|EU|FE [--yes]',
  `       npm run ops -- purge [--older-than ${DEFAULT_RETENTION}] [--dry-run]`,
  '       npm run ops -- sweep [--customer ID] [--dry-run]',
  '       npm run ops -- import-refresh-token --customer ID --marketplace US [--selling-partner-id A…]   (the token on standard input)',
].join('\n');

const DEFAULT_SINCE = '24h';
/** Rows deleted per statement: short transactions, so the purge never holds up the flow. */
const PURGE_BATCH = 1000;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const LAST_ERROR_WIDTH = 40;

type Command =
  | { kind: 'status'; customerId: string | undefined; expiringWithinDays: number | undefined; json: boolean }
  | { kind: 'attempts'; customerId: string | undefined; sinceMs: number; json: boolean }
  | { kind: 'unlink'; customerId: string; region: Region; yes: boolean }
  | { kind: 'purge'; olderThanMs: number; dryRun: boolean }
  | { kind: 'sweep'; customerId: string | undefined; dryRun: boolean }
  | { kind: 'import'; customerId: string; marketplace: string; sellingPartnerId: string | undefined }
  | { kind: 'help'; topic: string | undefined };

/** Progress of a long command (the sweep), for a bar on a terminal; not called otherwise. */
export type Progress = (done: number, total: number) => void;

/** Reads a secret from standard input, never echoing it (import-refresh-token). */
export type ReadSecret = () => Promise<string>;

/** Asks the operator a yes/no question (a terminal prompt in the CLI; scripted in tests). */
export type Confirm = (question: string) => Promise<boolean>;

/**
 * The command without process I/O, so tests can run it: argv, the settings, the time, where lines go, and how to ask
 * for confirmation (unlink without --yes).
 */
export async function opsCommand(
  argv: string[],
  values: SettingValues,
  now: Date,
  print: (line: string) => void,
  confirm: Confirm = async () => false,
  progress?: Progress,
  readSecret: ReadSecret = async () => '',
): Promise<number> {
  const parsed = parseCommand(argv);
  if (typeof parsed === 'string') {
    print(`ops: ${parsed}`);
    print(OPS_USAGE);
    return 2;
  }
  if (parsed.kind === 'help') {
    // `ops unlink --help`: that command's line; `ops --help` (or an unknown one): all of them.
    const line = OPS_USAGE.split('\n').find((l) => parsed.topic !== undefined && l.includes(`npm run ops -- ${parsed.topic} `));
    print(line === undefined ? OPS_USAGE : `usage: ${line.replace(/^(usage:)?\s+/, '')}`);
    return 0;
  }

  // The sweep prints its own table and summary: its info lines (the same summary as JSON) would only repeat them.
  const logger = consoleLogger((line, level) => {
    if (parsed.kind !== 'sweep' || level !== 'info') print(line);
  });
  const app = new App({ values, environment: { inAzure: false }, logger });
  try {
    const state = await app.state();
    if (!state.ok) {
      for (const problem of state.problems) print(`ops: ${problem}`);
      return 1;
    }
    const { store } = state.services;
    switch (parsed.kind) {
      case 'status':
        await printStatus(store, parsed, now, print);
        return 0;
      case 'attempts':
        await printAttempts(store, parsed, now, print);
        return 0;
      case 'unlink':
        return await unlink({ ...state.services, logger }, parsed, print, confirm);
      case 'purge':
        return await purge(store, parsed, now, print);
      case 'sweep':
        return await sweep(state.services, parsed, print, progress);
      case 'import':
        return await importToken({ ...state.services, logger }, parsed, print, readSecret);
    }
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
        region: { type: 'string' },
        'older-than': { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        marketplace: { type: 'string' },
        'selling-partner-id': { type: 'string' },
        yes: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    return error instanceof Error ? error.message : 'bad arguments';
  }
  const { values: options, positionals } = parsed;
  if (options.help === true) return { kind: 'help', topic: positionals[0] };
  const [kind, ...extra] = positionals;
  if (kind === undefined) return 'say status, attempts, unlink, purge, sweep or import-refresh-token';
  const misplaced = (allowed: readonly string[]): string | undefined => {
    const given = Object.entries(options).filter(([name, value]) => value !== undefined && value !== false && name !== 'help');
    const wrong = given.find(([name]) => !allowed.includes(name));
    return wrong === undefined ? undefined : `--${wrong[0]} does not belong to ${kind}`;
  };
  if (kind === 'unlink') {
    const problem = misplaced(['customer', 'region', 'yes']);
    if (problem !== undefined) return problem;
    if (extra.length > 0) return `unexpected argument "${extra.join(' ')}"`;
    if (options.customer === undefined || !isValidCustomerId(options.customer)) return 'unlink needs --customer with a valid customer id';
    const region = options.region?.toUpperCase();
    if (region === undefined || !isRegion(region)) return 'unlink needs --region NA, EU or FE';
    return { kind: 'unlink', customerId: options.customer, region, yes: options.yes === true };
  }
  if (kind === 'purge') {
    const problem = misplaced(['older-than', 'dry-run']);
    if (problem !== undefined) return problem;
    if (extra.length > 0) return `unexpected argument "${extra.join(' ')}"`;
    const olderThanMs = parseDuration(options['older-than'] ?? DEFAULT_RETENTION);
    if (olderThanMs === undefined || olderThanMs < UNIT_MS.d) return '--older-than takes a duration of at least a day, such as 90d';
    return { kind: 'purge', olderThanMs, dryRun: options['dry-run'] === true };
  }
  if (kind === 'import-refresh-token') {
    const problem = misplaced(['customer', 'marketplace', 'selling-partner-id']);
    if (problem !== undefined) return problem;
    // Never as an argument: it would stay in the shell's history and the process list.
    // An option's value shaped like one (pasted in the wrong place) gets the same answer, and is never repeated.
    const pasted = Object.values(options).some((v) => typeof v === 'string' && v.startsWith(REFRESH_TOKEN_PREFIX));
    if (extra.length > 0 || pasted) return 'the refresh token is read from standard input, never from an argument';
    if (options.customer === undefined || !isValidCustomerId(options.customer)) return 'import-refresh-token needs --customer with a valid customer id';
    if (options.marketplace === undefined) return 'import-refresh-token needs --marketplace (US, DE, JP, …)';
    return { kind: 'import', customerId: options.customer, marketplace: options.marketplace.toUpperCase(), sellingPartnerId: options['selling-partner-id'] };
  }
  if (kind === 'sweep') {
    const problem = misplaced(['customer', 'dry-run']);
    if (problem !== undefined) return problem;
    if (extra.length > 0) return `unexpected argument "${extra.join(' ')}"`;
    if (options.customer !== undefined && !isValidCustomerId(options.customer)) return '--customer needs a valid customer id';
    return { kind: 'sweep', customerId: options.customer, dryRun: options['dry-run'] === true };
  }
  for (const name of ['region', 'older-than', 'dry-run', 'yes', 'marketplace', 'selling-partner-id'] as const) {
    if (options[name] !== undefined && options[name] !== false) return `--${name} does not belong to ${kind}`;
  }
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
    // The same objects as GET /api/credentials returns (snake_case, as the HTTP API and the SQL view).
    print(JSON.stringify(rows.map(statusJson), null, 2));
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

async function unlink(services: Services & { logger: Logger }, command: Extract<Command, { kind: 'unlink' }>, print: (line: string) => void, confirm: Confirm): Promise<number> {
  const { customerId, region } = command;
  const [row] = await services.store.listCredentialStatus({ customerId }, services.clock.now()).then((rows) => rows.filter((r) => r.region === region));
  if (row === undefined) {
    print(`ops: customer ${customerId} has no row in ${region}: nothing to unlink`);
    return 1;
  }
  print(`customer ${customerId} in ${region}: seller ${row.sellingPartnerId ?? '-'}, status ${row.status}`);
  const question = `Unlink it? Its refresh token is deleted and its next authorization may bring another seller. [y/N] `;
  if (!command.yes && !(await confirm(question))) {
    print('ops: not unlinked');
    return 1;
  }
  const result = await unlinkCredential(services, { customerId, region });
  if (result.kind === 'not_found') {
    print(`ops: customer ${customerId} has no row in ${region}: nothing to unlink`);
    return 1;
  }
  print(`unlinked customer ${customerId} in ${region} (was seller ${result.previousSellingPartnerId ?? '-'}, ${result.previousStatus}); recorded as an ops attempt`);
  return 0;
}

async function purge(store: CredentialStore, command: Extract<Command, { kind: 'purge' }>, now: Date, print: (line: string) => void): Promise<number> {
  const olderThan = new Date(now.getTime() - command.olderThanMs);
  let total = 0;
  if (command.dryRun) {
    // One count, however many: a dry run deletes nothing, so it needs no batches.
    total = await store.purgeAttempts({ olderThan, now, limit: 100_000, dryRun: true });
    print(`would delete ${total} ended ${total === 1 ? 'attempt' : 'attempts'} created before ${olderThan.toISOString()} (dry run: nothing deleted)`);
    return 0;
  }
  for (let batches = 1; ; batches++) {
    const deleted = await store.purgeAttempts({ olderThan, now, limit: PURGE_BATCH, dryRun: false });
    total += deleted;
    if (deleted < PURGE_BATCH) {
      print(`deleted ${total} ended ${total === 1 ? 'attempt' : 'attempts'} created before ${olderThan.toISOString()} in ${batches} ${batches === 1 ? 'batch' : 'batches'}; credential rows and each row's last attempt kept`);
      return 0;
    }
  }
}

/** Reads the token from standard input, proves it, stores it; says what happened without ever showing the token. */
async function importToken(services: Services & { logger: Logger }, command: Extract<Command, { kind: 'import' }>, print: (line: string) => void, readSecret: ReadSecret): Promise<number> {
  const refreshToken = (await readSecret()).trim();
  if (refreshToken === '') {
    print('ops: no refresh token on standard input (paste it, or pipe it: ... < token.txt)');
    return 2;
  }
  const result = await importRefreshToken(
    { ...services, lwaTimeoutMs: services.settings.lwa.timeoutMs },
    { customerId: command.customerId, marketplace: command.marketplace, sellingPartnerId: command.sellingPartnerId, refreshToken },
  );
  if (!result.ok) {
    print(`ops: ${result.reason}: ${result.message}`);
    return 1;
  }
  print(
    `imported: customer ${command.customerId} in ${result.region}, seller ${result.sellingPartnerId}, ` +
      `${result.verified ? `sells in ${result.countryCodes.join(',')}${result.storeName === null ? '' : ` (${result.storeName})`}` : 'marketplaces not verified (SP-API did not answer)'}; ` +
      `stored encrypted as authorized (attempt self_authorization, event ${result.event})`,
  );
  if (services.events.enabled) await services.events.deliverDue();
  return 0;
}

/** The sweep, as the CredentialSweep timer runs it, then one line per seller and a summary. */
async function sweep(services: Services, command: Extract<Command, { kind: 'sweep' }>, print: (line: string) => void, progress?: Progress): Promise<number> {
  const summary = await services.sweep.run({ customerId: command.customerId, dryRun: command.dryRun, onProgress: progress });
  const header = ['customer', 'region', 'seller', 'outcome', 'marketplaces', 'store'];
  const body = summary.sellers.map((r) => [r.customerId, r.region, r.sellingPartnerId, r.outcome, r.countryCodes.join(','), r.storeName]);
  for (const line of table(header, body, new Set())) print(line);
  const counts = Object.entries(summary.counts)
    .filter(([, n]) => n > 0)
    .map(([outcome, n]) => `${n} ${outcome}`);
  print(
    `${command.dryRun ? 'dry run (nothing called, nothing written): ' : ''}${summary.rows} authorized ${summary.rows === 1 ? 'row' : 'rows'}` +
      `${counts.length > 0 ? ` (${counts.join(', ')})` : ''}; ${summary.reminders} ${summary.reminders === 1 ? 'reminder' : 'reminders'}` +
      `${command.dryRun ? ' due' : ' written'}; ${summary.purgedAttempts} old attempts and ${summary.purgedEvents} delivered events ${command.dryRun ? 'to purge' : 'purged'}`,
  );
  if (summary.stopped === 'lwa_client_rejected') {
    print('ops: LWA refused the app\'s client credentials (invalid_client): the sweep stopped; check LWA_CLIENT_SECRET');
    return 1;
  }
  // Reminders and flags written here reach oxWebApp now when a webhook is set (the timer would, within a minute).
  if (!command.dryRun && services.events.enabled) await services.events.deliverDue();
  return 0;
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
    print(JSON.stringify(attempts.map((a) => publicAttempt(a, now)), null, 2));
    return;
  }
  const header = ['time (UTC)', 'flow', 'customer', 'region', 'outcome', 'reason', 'lwa_error'];
  const body = attempts.map((a) => [time(a.createdAt), a.flow, a.customerId, a.region, attemptOutcomeAt(a, now), a.reason, a.lwaError]);
  for (const line of table(header, body, new Set())) print(line);
  print(`${attempts.length} ${attempts.length === 1 ? 'attempt' : 'attempts'} since ${since.toISOString()}${command.customerId === undefined ? '' : ` for customer ${command.customerId}`}`);
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

/**
 * Standard input, never echoed: on a terminal a prompt on stderr and raw input up to Enter (Ctrl+C aborts); from a
 * pipe or file, everything. Nothing read is printed.
 */
async function readSecretFromStdin(): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of input) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    return Buffer.concat(chunks).toString('utf8');
  }
  process.stderr.write('Refresh token (Atzr|…, not shown): ');
  return new Promise((resolve) => {
    let typed = '';
    input.setRawMode(true);
    input.resume();
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          input.setRawMode(false);
          input.pause();
          input.off('data', onData);
          process.stderr.write('\n');
          resolve(typed);
          return;
        }
        if (ch === '\u0003') process.exit(130);
        typed = ch === '\u007f' ? typed.slice(0, -1) : typed + ch;
      }
    };
    input.on('data', onData);
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const confirm: Confirm = async (question) => {
    if (!process.stdin.isTTY) return false;
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^y(es)?$/i.test((await rl.question(question)).trim());
    } finally {
      rl.close();
    }
  };
  // Results to stdout (so `--json > file` holds JSON only); usage and problems, which start with "ops:" or "usage:",
  // to stderr. Printed as they come, so unlink shows the row before it asks.
  const print = (line: string): void => (/^(ops:|usage:|\s{7}npm run ops)/.test(line) ? console.error : console.log)(line);
  // A bar on a terminal only (stderr, redrawn in place); pipes and logs get the summary alone.
  const progress: Progress | undefined = process.stderr.isTTY
    ? (done, total) => {
        const width = 30;
        const filled = total === 0 ? width : Math.round((done / total) * width);
        process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${done === total ? '\n' : ''}`);
      }
    : undefined;
  await runCommand('ops', () => opsMain(process.argv.slice(2), process.cwd(), process.env, print, confirm, progress, readSecretFromStdin));
}

/**
 * The command line: usage and --help need no settings; otherwise the local settings (one line per problem, exit 1,
 * never a stack trace), then {@link opsCommand}.
 */
export async function opsMain(
  argv: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  print: (line: string) => void,
  confirm?: Confirm,
  progress?: Progress,
  readSecret?: ReadSecret,
): Promise<number> {
  const parsed = parseCommand(argv);
  if (typeof parsed === 'string' || parsed.kind === 'help') return opsCommand(argv, {}, new Date(), print, confirm);
  const prepared = prepareLocalRun({ cwd, env });
  if (!prepared.ok) {
    for (const problem of prepared.problems) print(`ops: ${problem}`);
    return 1;
  }
  return opsCommand(argv, prepared.run.values, new Date(), print, confirm, progress, readSecret);
}
