import { pathToFileURL } from 'node:url';
import type { SettingValues } from '../config/settingReader.js';
import { App } from '../app.js';
import { consoleLogger } from '../logging/logging.js';
import { runCommand } from './help.js';
import { prepareLocalRun } from './localRun.js';
import { listingArguments, readArguments, secretArgument } from './ops/arguments.js';
import { parseAttempts, runAttempts, ATTEMPTS_USAGE, type AttemptsCommand } from './ops/attempts.js';
import type { Confirm, OpsContext, Print, Progress, ReadSecret } from './ops/context.js';
import { IMPORT_TOKEN_ARGUMENT, IMPORT_USAGE, parseImport, runImport, type ImportCommand } from './ops/importRefreshToken.js';
import { parsePurge, PURGE_USAGE, runPurge, type PurgeCommand } from './ops/purge.js';
import { parseRecheck, RECHECK_USAGE, runRecheck, type RecheckCommand } from './ops/recheck.js';
import { parseStatus, runStatus, STATUS_USAGE, type StatusCommand } from './ops/status.js';
import { parseSweep, runSweep, SWEEP_USAGE, type SweepCommand } from './ops/sweep.js';
import { readSecretFromStdin, terminalConfirm, terminalPrint, terminalProgress } from './ops/terminal.js';
import { parseUnlink, runUnlink, UNLINK_USAGE, type UnlinkCommand } from './ops/unlink.js';


/**
 * `npm run ops -- <command>`: one file per command under ops/ (status, attempts, unlink, recheck, purge, sweep,
 * import-refresh-token), each parsing its own options and running over the app's services. Settings as the app reads
 * them (environment over local.settings.json; the sandbox's own locally), on SQLite or SQL Server alike: only the
 * CredentialStore interface is used, which never hands out a secret column (no refresh token, code or MWS token;
 * attempts are printed without their hashes).
 * Exit codes: 0 done, 1 settings or store problem, 2 bad arguments (usage printed).
 */
export const OPS_USAGE = [STATUS_USAGE, ATTEMPTS_USAGE, UNLINK_USAGE, RECHECK_USAGE, PURGE_USAGE, SWEEP_USAGE, IMPORT_USAGE]
  .map((line, i) => `${i === 0 ? 'usage: ' : '       '}${line}`)
  .join('\n');

type Command = StatusCommand | AttemptsCommand | UnlinkCommand | RecheckCommand | PurgeCommand | SweepCommand | ImportCommand | { kind: 'help'; topic: string | undefined };

/** The command, or what is wrong with the arguments. */
function parseCommand(argv: string[]): Command | string {
  // Before anything could repeat an argument (an unknown command, an unexpected argument, a customer id).
  const secret = secretArgument(argv);
  if (secret !== undefined) {
    if (argv.includes('import-refresh-token')) return IMPORT_TOKEN_ARGUMENT;
    return `argument ${secret.position} looks like ${secret.kind}: refused, and not printed; no command takes a secret as an argument`;
  }
  const read = readArguments(argv);
  if (typeof read === 'string') return read;
  const { options, positionals } = read;
  if (options.help === true) return { kind: 'help', topic: positionals[0] };
  const [kind, ...extra] = positionals;
  switch (kind) {
    case undefined:
      return 'say status, attempts, unlink, recheck, purge, sweep or import-refresh-token';
    case 'status':
      return parseStatus(options, extra);
    case 'attempts':
      return parseAttempts(options, extra);
    case 'unlink':
      return parseUnlink(options, extra);
    case 'recheck':
      return parseRecheck(options, extra);
    case 'purge':
      return parsePurge(options, extra);
    case 'sweep':
      return parseSweep(options, extra);
    case 'import-refresh-token':
      return parseImport(options, extra);
    default: {
      // Checked as a listing first, so a misplaced option is named before the unknown command.
      const listing = listingArguments(kind, options, extra);
      return typeof listing === 'string' ? listing : `unknown command "${kind}"`;
    }
  }
}

/**
 * The command without process I/O, so tests can run it: argv, the settings, the time, where lines go, and how to ask
 * for confirmation (unlink without --yes).
 */
export async function opsCommand(
  argv: string[],
  values: SettingValues,
  now: Date,
  print: Print,
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
    const context: OpsContext = { services: { ...state.services, logger }, now, print, confirm, progress, readSecret };
    switch (parsed.kind) {
      case 'status':
        return await runStatus(parsed, context);
      case 'attempts':
        return await runAttempts(parsed, context);
      case 'unlink':
        return await runUnlink(parsed, context);
      case 'recheck':
        return await runRecheck(parsed, context);
      case 'purge':
        return await runPurge(parsed, context);
      case 'sweep':
        return await runSweep(parsed, context);
      case 'import':
        return await runImport(parsed, context);
    }
  } finally {
    await app.close();
  }
}

/**
 * The command line: usage and --help need no settings; otherwise the local settings (one line per problem, exit 1,
 * never a stack trace), then {@link opsCommand}.
 */
export async function opsMain(
  argv: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  print: Print,
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

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runCommand('ops', () => opsMain(process.argv.slice(2), process.cwd(), process.env, terminalPrint, terminalConfirm, terminalProgress(), readSecretFromStdin));
}
