import { pathToFileURL } from 'node:url';
import { App, type AppState } from '../app.js';
import { systemClock, type Logger } from '../authorization/ports.js';
import { readLocalSettingValues } from '../config/localSettings.js';
import type { SettingValues } from '../config/settings.js';
import { consoleLogger } from '../http/logging.js';
import { parseAllowedHosts, startLocalHost, type LocalPage, type RunningHost } from '../http/localHost.js';
import { sandboxAmazonPages } from '../sandbox/sandboxAmazon.js';
import { SandboxLwa } from '../sandbox/sandboxLwa.js';
import { isSandbox, sandboxEnvironment, type SandboxEnvironment } from '../sandbox/sandboxSettings.js';
import { startPages } from '../sandbox/startPage.js';

/** `npm start`: the local host on http://localhost:7071 (PORT changes it), in sandbox mode unless LWA is configured. */
async function main(): Promise<void> {
  const port = Number(process.env['PORT'] ?? 7071);
  const origin = `http://localhost:${port}`;
  const logger = consoleLogger();
  const local = readLocalSettingValues();
  const sandbox = isSandbox(local.values, false) ? sandboxEnvironment(local.values, origin) : undefined;
  const values = sandbox?.values ?? local.values;

  if (sandbox) {
    console.log('SANDBOX MODE: no LWA_CLIENT_ID / LWA_TOKEN_URL configured, so Seller Central and Login with Amazon');
    console.log(`are played by this host (${origin}/sandbox/...), with local secrets generated in .data/ and SQLite storage.`);
  } else {
    console.log(`Using configured settings${local.file ? ` from ${local.file} and the environment` : ' from the environment'}.`);
  }

  const app = new App({ values, environment: { inAzure: false }, logger });
  const state = await app.state();
  if (!state.ok) {
    console.error('Settings need attention:');
    for (const problem of state.problems) console.error(`  - ${problem}`);
  }
  const wired = await wireLocalHost({ app, state, configured: local.values, sandbox, port, logger });
  if (!wired.ok) {
    console.error(`Settings need attention:\n  - ${wired.problem}`);
    await app.close();
    process.exitCode = 1;
    return;
  }
  const { host } = wired;
  if (sandbox && state.ok && state.services.settings.lwa.clientSecret !== sandbox.amazonClientSecret) {
    console.log('LWA_CLIENT_SECRET is set: the sandbox Amazon will refuse it (invalid_client) unless LWA_CLIENT_SECRET_PREVIOUS holds its own (clientSecret in .data/sandbox-secrets.json).');
  }
  if (!sandbox && !wired.keysEnforced) {
    console.log('Function keys are not enforced: set LOCAL_FUNCTION_KEY and LOCAL_ADMIN_KEY to require them, as Azure does.');
  }
  if (state.ok) console.log(`Store: ${state.services.settings.store.kind}${state.services.settings.store.kind === 'sqlite' ? ` (${state.services.settings.store.path})` : ''}`);
  console.log(
    sandbox
      ? `Listening on ${host.url} — open ${host.url}/ to authorize a sandbox seller. Ctrl+C stops.`
      : `Listening on ${host.url}/api (the start page and the sandbox exist only in sandbox mode). Ctrl+C stops.`,
  );

  const stop = () => {
    void host.close().then(() => app.close()).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

export interface LocalHostWiring {
  app: App;
  state: AppState;
  /** The values the developer configured (environment over local.settings.json), without sandbox defaults. */
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
 * LOCAL_ALLOWED_HOSTS (the problem names it).
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
      sandboxLwa = new SandboxLwa({ clientId: settings.lwa.clientId, clientSecret: sandbox.amazonClientSecret, clock: systemClock });
      pages.push(
        ...sandboxAmazonPages({
          lwa: sandboxLwa,
          applicationId: settings.applicationId,
          redirectUris: [settings.redirectUri],
          loginUri: `${origin}/api/login`,
          draftApp: settings.draftApp,
          listAuthorizations: () => store.listCredentials(),
        }),
      );
    }
    pages.push(...startPages(app, { sandboxLwa }));
  }
  const host = await startLocalHost({ app, logger, port, pages, allowedHosts: allowed.hosts, keys });
  return { ok: true, host, keysEnforced: keys.function !== undefined || keys.admin !== undefined };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : 'failed to start');
    process.exit(1);
  });
}
