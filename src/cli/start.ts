import { pathToFileURL } from 'node:url';
import type { SettingValues } from '../config/settingReader.js';
import { systemClock, type Clock, type Logger } from '../credentials/index.js';
import { App, type AppState } from '../app.js';
import { consoleLogger } from '../logging/logging.js';
import { parseAllowedHosts, startLocalHost, type LocalPage, type RunningHost } from '../http/localHost.js';
import { sandboxAmazonPages } from '../sandbox/sandboxAmazon.js';
import { SandboxLwa } from '../sandbox/sandboxLwa.js';
import type { SandboxEnvironment } from '../sandbox/sandboxSettings.js';
import { SandboxSpApi } from '../sandbox/sandboxSpApi.js';
import { sandboxEventsPages } from '../sandbox/sandboxEvents.js';
import { startPages } from '../sandbox/startPage.js';
import { startTimers } from '../jobs/scheduler.js';
import { helpRequested } from './help.js';
import { prepareLocalRun, sandboxOffLine } from './localRun.js';

export const START_USAGE = [
  'usage: npm start',
  '  Serves the functions on http://localhost:7071 (PORT changes it). Without LWA_CLIENT_ID and LWA_TOKEN_URL it is',
  '  the sandbox: Seller Central and Login with Amazon played locally, secrets in .data/sandbox-secrets.json, the',
  '  store in .data/local.sqlite. Settings: the environment, then Values of local.settings.json. The timers run as',
  '  in Azure (EventDelivery every minute, CredentialSweep on CREDENTIAL_SWEEP_SCHEDULE); AzureWebJobs.<name>.Disabled=true',
  '  turns one off.',
].join('\n');

export interface StartOptions {
  argv?: readonly string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Where lines for the user go (stdout) and where problems go (stderr). */
  print(line: string): void;
  printError(line: string): void;
  /** Whose shell the hints are written for (default: this process's platform). */
  platform?: NodeJS.Platform;
  /** The app's clock and the timers' (default: the system's); tests move theirs instead of waiting. */
  clock?: Clock;
  /** How often the timers look at the clock while waiting (default 1 s). */
  timerPollMs?: number;
}

/**
 * `npm start`, without process I/O so tests can run it. Exit code 1 with one line per problem (PORT, a broken
 * local.settings.json or .data/sandbox-secrets.json, each bad setting, a busy port) and nothing served; else 0 and
 * the running host.
 */
export async function startCommand(options: StartOptions): Promise<{ code: number; host?: RunningHost; app?: App }> {
  const { print, printError } = options;
  if (helpRequested(options.argv ?? [])) {
    print(START_USAGE);
    return { code: 0 };
  }
  const prepared = prepareLocalRun({ cwd: options.cwd, env: options.env });
  if (!prepared.ok) {
    for (const problem of prepared.problems) printError(problem);
    return { code: 1 };
  }
  const { run } = prepared;
  const { sandbox, origin } = run;
  const logger = consoleLogger();
  const app = new App({ values: run.values, environment: { inAzure: false }, logger: quietAboutSettings(logger), ...(options.clock ? { clock: options.clock } : {}) });
  const state = await app.state();
  if (!state.ok) {
    const why = sandboxOffLine(run, state.problems);
    printError(why ?? 'Sandbox mode, but some settings you gave it need attention:');
    for (const problem of state.problems) printError(`  - ${problem}`);
    await app.close();
    return { code: 1 };
  }
  const { settings } = state.services;
  for (const [job, problems] of Object.entries(settings.jobProblems)) {
    for (const problem of problems) printError(`${job} will not run (everything else does): ${problem}`);
  }
  if (sandbox) {
    print('SANDBOX MODE: no LWA_CLIENT_ID / LWA_TOKEN_URL configured, so Seller Central and Login with Amazon');
    print(`are played by this host (${origin}/sandbox/...), with local secrets generated in .data/ (the store is named below).`);
    if (settings.lwa.clientSecret !== sandbox.amazonClientSecret) {
      print('LWA_CLIENT_SECRET is set: the sandbox Amazon will refuse it (invalid_client) unless LWA_CLIENT_SECRET_PREVIOUS holds its own (clientSecret in .data/sandbox-secrets.json).');
    }
  } else {
    print(`${sandboxOffLine(run, []) ?? ''} Using configured settings${run.file ? ` from ${run.file} and the environment` : ' from the environment'}.`);
  }

  let wired: Awaited<ReturnType<typeof wireLocalHost>>;
  try {
    wired = await wireLocalHost({ app, state, configured: run.values, sandbox, port: run.port, logger });
  } catch (error) {
    await app.close();
    if (isCode(error, 'EADDRINUSE')) {
      printError(`port ${run.port} is in use: set PORT to a free port (e.g. ${withPort(run.port === 65535 ? 7072 : run.port + 1, options.platform ?? process.platform)}).`);
      return { code: 1 };
    }
    if (isCode(error, 'EACCES')) {
      printError(`port ${run.port} may not be opened by this user: set PORT to one above 1023.`);
      return { code: 1 };
    }
    throw error;
  }
  if (!wired.ok) {
    printError(wired.problem);
    await app.close();
    return { code: 1 };
  }
  // The timers run here as the Functions host runs them (EventDelivery every minute, CredentialSweep on its schedule);
  // closing the host stops them first and waits for a run in progress.
  const jobs = startTimers({ app, logger, values: run.values, ...(options.clock ? { clock: options.clock } : {}), ...(options.timerPollMs ? { pollMs: options.timerPollMs } : {}) });
  const host: RunningHost = {
    ...wired.host,
    close: async () => {
      await jobs.stop();
      await wired.host.close();
    },
  };
  if (!sandbox && !wired.keysEnforced) {
    print('Function keys are not enforced: set LOCAL_FUNCTION_KEY and LOCAL_ADMIN_KEY to require them, as Azure does.');
  }
  print(`Store: ${settings.store.kind}${settings.store.kind === 'sqlite' ? ` (${settings.store.path})` : ''}`);
  const timerLines = [...jobs.next].map(([name, at]) => `${name} next at ${at?.toISOString() ?? 'never'}`);
  print(`Timers: ${timerLines.length > 0 ? timerLines.join(', ') : 'none (disabled by AzureWebJobs.<name>.Disabled)'}`);
  print(
    sandbox
      ? `Listening on ${host.url} — open ${host.url}/ to authorize a sandbox seller. Ctrl+C stops.`
      : `Listening on ${host.url}/api with the configured Amazon endpoints (the start page and the sandbox exist only in sandbox mode). Ctrl+C stops.`,
  );
  return { code: 0, host, app };
}

export interface LocalHostWiring {
  app: App;
  state: AppState;
  /** The values the developer configured (environment over local.settings.json, and in sandbox mode its generated ones). */
  configured: SettingValues;
  /** Present in sandbox mode only. */
  sandbox: SandboxEnvironment | undefined;
  port: number;
  logger: Logger;
}

/**
 * The local host as `npm start` serves it. The start page (with its launch-link and token helpers and the oxWebApp
 * stand-in) and the sandbox Amazon exist only in sandbox mode: with real settings they would sign real launch links
 * and hand out real access tokens to whoever asks. In every mode: the Host allow-list (LOCAL_ALLOWED_HOSTS adds
 * names) and, when LOCAL_FUNCTION_KEY / LOCAL_ADMIN_KEY are set, Azure's key checks. Refused: a malformed
 * LOCAL_ALLOWED_HOSTS (the problem names it). Throws what listen throws (EADDRINUSE, EACCES).
 */
export async function wireLocalHost(
  wiring: LocalHostWiring,
): Promise<{ ok: true; host: RunningHost; keysEnforced: boolean } | { ok: false; problem: string }> {
  const { app, state, configured, sandbox, port, logger } = wiring;
  const allowed = parseAllowedHosts(configured['LOCAL_ALLOWED_HOSTS']);
  if (!allowed.ok) return allowed;
  const key = (name: string) => {
    const value = configured[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const keys = { function: key('LOCAL_FUNCTION_KEY'), admin: key('LOCAL_ADMIN_KEY') };
  const pages: LocalPage[] = [];
  if (sandbox !== undefined) {
    let sandboxLwa: SandboxLwa | undefined;
    if (state.ok) {
      const { settings, store } = state.services;
      const origin = `http://localhost:${port}`;
      sandboxLwa = new SandboxLwa({
        clientId: settings.lwa.clientId,
        clientSecret: sandbox.amazonClientSecret,
        clock: systemClock,
        revocations: sandbox.revocations,
        saveRevocations: (revocations) => sandbox.saveRevocations(revocations),
        revokedGrants: sandbox.revokedGrants,
        saveRevokedGrants: (grants) => sandbox.saveRevokedGrants(grants),
      });
      pages.push(
        ...sandboxAmazonPages({
          lwa: sandboxLwa,
          applicationId: settings.applicationId,
          redirectUris: [settings.redirectUri],
          loginUri: `${origin}/api/login`,
          draftApp: settings.draftApp,
          listAuthorizations: () => store.listCredentials(),
        }),
        ...new SandboxSpApi({ lwa: sandboxLwa, clock: systemClock }).pages(),
        ...sandboxEventsPages(app, sandbox.webhookSecret),
      );
    }
    pages.push(...startPages(app, { sandboxLwa }));
  }
  const host = await startLocalHost({ app, logger, port, pages, allowedHosts: allowed.hosts, keys });
  return { ok: true, host, keysEnforced: keys.function !== undefined || keys.admin !== undefined };
}

/** Settings problems are printed once, as the command's own lines; the app would log each again as JSON. */
function quietAboutSettings(logger: Logger): Logger {
  return {
    info: (message, fields) => logger.info(message, fields),
    warn: (message, fields) => logger.warn(message, fields),
    error: (message, fields) => {
      if (message !== 'invalid setting') logger.error(message, fields);
    },
  };
}

/** `npm start` on another port, as the user's shell writes it: `PORT=n npm start` is POSIX-only. */
function withPort(port: number, platform: NodeJS.Platform): string {
  return platform === 'win32' ? `$env:PORT=${port}; npm start in PowerShell, set PORT=${port}&& npm start in cmd` : `PORT=${port} npm start`;
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const started = await startCommand({ argv: process.argv.slice(2), print: (line) => console.log(line), printError: (line) => console.error(line) });
    if (started.host === undefined) process.exit(started.code);
    const stop = () => {
      void started.host?.close().then(() => started.app?.close()).then(() => process.exit(0));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } catch (error) {
    // Never a stack trace: the message only (the known problems above already came back as lines).
    console.error(`npm start failed: ${error instanceof Error ? error.message : 'unknown error'}`);
    process.exit(1);
  }
}
