import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { SettingValues } from '../../src/config/settingReader.js';
import type { Clock } from '../../src/credentials/index.js';
import { App, type Services } from '../../src/app.js';
import { buildLaunchLink } from '../../src/authorization/launchLink.js';
import { consoleLogger } from '../../src/logging/logging.js';
import { startLocalHost, type RunningHost } from '../../src/http/localHost.js';
import { sandboxAmazonPages } from '../../src/sandbox/sandboxAmazon.js';
import { SandboxSpApi, sandboxSpApiEndpoint } from '../../src/sandbox/sandboxSpApi.js';
import { startPages } from '../../src/sandbox/startPage.js';
import { CookieClient } from './cookieClient.js';
import { startFakeLwa, type FakeLwa } from './fakeLwa.js';

/**
 * The whole service as `npm start` wires it (App + local host + sandbox Seller Central), on loopback, with a temp
 * SQLite file, a loopback LWA with scripted faults, a clock tests can move, and every log line captured.
 */
export class TestClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface Harness {
  origin: string;
  host: RunningHost;
  app: App;
  lwa: FakeLwa;
  /** The sandbox SP-API (marketplaceParticipations), served by the same host. */
  spApi: SandboxSpApi;
  clock: TestClock;
  /** The pauses the app asked for (LWA retries, lease polls), in ms, when started with `clockSleep`. */
  sleeps: number[];
  logs: string[];
  values: SettingValues;
  secrets: { clientSecret: string; launchLinkSecret: string; tokenKey: string };
  services(): Promise<Services>;
  launchLink(customerId: string, marketplace?: string, expires?: number): string;
  /** Launch link → consent page → Confirm: returns Amazon's redirect to the callback, not yet followed. */
  approve(client: CookieClient, customerId: string, options?: { marketplace?: string; sellingPartnerId?: string }): Promise<string>;
  close(): Promise<void>;
}

export const CLIENT_ID = 'amzn1.application-oa2-client.test0000000000000000000000000';
export const APPLICATION_ID = 'amzn1.sp.solution.11111111-2222-4333-8444-555555555555';

export interface HarnessOptions {
  /** The client secret the loopback LWA accepts (default: the one the app is configured with). */
  amazonClientSecret?: string;
  /**
   * The app's pauses (between LWA retries, between polls of another instance's refresh lease) move the test clock by
   * their length and return at once, instead of waiting that long on a timer; each is recorded in `sleeps`.
   */
  clockSleep?: boolean;
}

export async function startHarness(overrides: SettingValues = {}, options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'spapi-auth-'));
  const clock = new TestClock();
  const secrets = {
    clientSecret: `amzn1.oa2-cs.v1.${randomBytes(24).toString('hex')}`,
    launchLinkSecret: randomBytes(32).toString('base64url'),
    tokenKey: randomBytes(32).toString('base64'),
  };
  const lwa = await startFakeLwa({ clientId: CLIENT_ID, clientSecret: options.amazonClientSecret ?? secrets.clientSecret, clock });
  const sleeps: number[] = [];
  const sleep = async (ms: number): Promise<void> => {
    sleeps.push(ms);
    clock.advance(ms);
  };
  // The settings name the host's origin, so the port is chosen before the host listens; another test file running
  // in parallel may take it in between (a connection's ephemeral port, say): then it starts again on another.
  for (let tries = 1; ; tries++) {
    try {
      return await startOn(await freePort());
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EADDRINUSE' || tries >= 5) {
        await lwa.close();
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }

  async function startOn(port: number): Promise<Harness> {
    const origin = `http://localhost:${port}`;
    const values: SettingValues = {
      SPAPI_APPLICATION_ID: APPLICATION_ID,
      SPAPI_REDIRECT_URI: `${origin}/api/lwa-callback`,
      LWA_CLIENT_ID: CLIENT_ID,
      LWA_CLIENT_SECRET: secrets.clientSecret,
      LWA_TOKEN_URL: lwa.url,
      LWA_TIMEOUT_MS: '500',
      LWA_EXCHANGE_TIMEOUT_MS: '1000', // the smallest allowed: a hung code exchange ends in 1 s
      SELLER_CENTRAL_URL: `${origin}/sandbox/sellercentral`,
      LAUNCH_LINK_SECRET: secrets.launchLinkSecret,
      TOKEN_ENCRYPTION_KEYS: `test1:${secrets.tokenKey}`,
      LOCAL_DB_PATH: join(dir, 'store.sqlite'),
      OXWEBAPP_LINK_URL: `${origin}/start/oxwebapp`,
      SPAPI_ENDPOINT_NA: sandboxSpApiEndpoint(origin, 'NA'),
      SPAPI_ENDPOINT_EU: sandboxSpApiEndpoint(origin, 'EU'),
      SPAPI_ENDPOINT_FE: sandboxSpApiEndpoint(origin, 'FE'),
      ...overrides,
    };
    const logs: string[] = [];
    const logger = consoleLogger((line) => logs.push(line));
    const app = new App({
      values,
      environment: { inAzure: false },
      logger,
      clock,
      lwaRetry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
      duplicateWaitMs: 10_000,
      ...(options.clockSleep ? { sleep } : {}),
    });
    const spApi = new SandboxSpApi({ lwa: lwa.sandbox, clock });
    const pages = [
      ...sandboxAmazonPages({
        lwa: lwa.sandbox,
        applicationId: APPLICATION_ID,
        redirectUris: [String(values['SPAPI_REDIRECT_URI'])],
        loginUri: `${origin}/api/login`,
        draftApp: values['SPAPI_DRAFT_APP'] === 'true',
        listAuthorizations: async () => {
          const state = await app.state();
          return state.ok ? state.services.store.listCredentials() : [];
        },
      }),
      ...startPages(app, { sandboxLwa: lwa.sandbox }),
      ...spApi.pages(),
    ];
    let host: RunningHost;
    try {
      host = await startLocalHost({ app, logger, port, pages });
    } catch (error) {
      await app.close();
      throw error;
    }

    const launchLink = (customerId: string, marketplace = 'US', expires?: number): string =>
      buildLaunchLink(
        origin,
        { customerId, marketplace, expires: expires ?? Math.floor(clock.now().getTime() / 1000) + 600 },
        secrets.launchLinkSecret,
      );

    return {
      origin,
      host,
      app,
      lwa,
      spApi,
      clock,
      sleeps,
      logs,
      values,
      secrets,
      launchLink,
      services: async () => {
        const state = await app.state();
        if (!state.ok) throw new Error(state.problems.join('; '));
        return state.services;
      },
      approve: async (client, customerId, options = {}) => {
        const start = await client.get(launchLink(customerId, options.marketplace ?? 'US'));
        expect(start.status).toBe(302);
        const consent = await client.get(start.location ?? '');
        expect(consent.status).toBe(200);
        const consentId = /name="consent" value="([^"]+)"/.exec(consent.body)?.[1];
        expect(consentId).toBeDefined();
        const decided = await client.postForm(`${origin}/sandbox/sellercentral/apps/authorize/decide`, {
          consent: consentId ?? '',
          decision: 'confirm',
          selling_partner_id: options.sellingPartnerId ?? 'A1SANDBOXSELLER1',
        });
        expect(decided.status).toBe(302);
        return decided.location ?? '';
      },
      close: async () => {
        await host.close();
        await app.close();
        await lwa.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

/** A port free on 127.0.0.1 a moment ago (another process may take it before it is used). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Replaces one query parameter of a URL. */
export function withParam(url: string, name: string, value: string | undefined): string {
  const u = new URL(url);
  if (value === undefined) u.searchParams.delete(name);
  else u.searchParams.set(name, value);
  return u.toString();
}
