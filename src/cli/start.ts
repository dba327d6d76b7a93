import { App } from '../app.js';
import { systemClock } from '../authorization/ports.js';
import { readLocalSettingValues } from '../config/localSettings.js';
import { consoleLogger } from '../http/logging.js';
import { startLocalHost, type LocalPage } from '../http/localHost.js';
import { sandboxAmazonPages } from '../sandbox/sandboxAmazon.js';
import { SandboxLwa } from '../sandbox/sandboxLwa.js';
import { SandboxSpApi } from '../sandbox/sandboxSpApi.js';
import { sandboxEventsPages } from '../sandbox/sandboxEvents.js';
import { isSandbox, sandboxEnvironment } from '../sandbox/sandboxSettings.js';
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
  const pages: LocalPage[] = [];
  const state = await app.state();
  let sandboxLwa: SandboxLwa | undefined;
  if (!state.ok) {
    console.error('Settings need attention:');
    for (const problem of state.problems) console.error(`  - ${problem}`);
  } else if (sandbox) {
    const { settings } = state.services;
    sandboxLwa = new SandboxLwa({ clientId: settings.lwa.clientId, clientSecret: sandbox.amazonClientSecret, clock: systemClock });
    const { store } = state.services;
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
    if (settings.lwa.clientSecret !== sandbox.amazonClientSecret) {
      console.log('LWA_CLIENT_SECRET is set: the sandbox Amazon will refuse it (invalid_client) unless LWA_CLIENT_SECRET_PREVIOUS holds its own (clientSecret in .data/sandbox-secrets.json).');
    }
  }
  pages.push(...startPages(app, { sandboxLwa }));

  const host = await startLocalHost({ app, logger, port, pages });
  if (state.ok) console.log(`Store: ${state.services.settings.store.kind}${state.services.settings.store.kind === 'sqlite' ? ` (${state.services.settings.store.path})` : ''}`);
  console.log(`Listening on ${host.url} — open ${host.url}/ to authorize a sandbox seller. Ctrl+C stops.`);

  const stop = () => {
    void host.close().then(() => app.close()).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : 'failed to start');
  process.exit(1);
});
