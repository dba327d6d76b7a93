import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { app, HttpRequest, InvocationContext, type HttpFunctionOptions, type HttpResponseInit, type LogLevel, type TimerFunctionOptions } from '@azure/functions';
import Database from 'better-sqlite3';
import { vi } from 'vitest';
import { FORCED_REFRESH_REUSE_MS } from '../../src/accessTokens/leaseDecision.js';
import { systemClock } from '../../src/credentials/index.js';
import type { App } from '../../src/app.js';
import { buildLaunchLink } from '../../src/authorization/launchLink.js';
import { startFakeLwa, type FakeLwa } from './fakeLwa.js';
import { APPLICATION_ID, CLIENT_ID } from './harness.js';

/**
 * The functions exactly as the Functions host indexes them: settings from process.env (stubbed), src/functions
 * imported with `app.http` and `app.timer` captured (outside the Functions runtime the real ones would only print
 * that they skip the registration), requests shaped the way the host shapes them, and a recording
 * InvocationContext. Import once per test file: the module registers (and builds `processApp()`) on first import.
 */
export interface RegisteredFunctions {
  functions: ReadonlyMap<string, HttpFunctionOptions>;
  timers: ReadonlyMap<string, TimerFunctionOptions>;
  lwa: FakeLwa;
  /** The process-wide app the registered functions serve (for a local host over the same store). */
  app: App;
  redirectUri: string;
  launchLinkSecret: string;
  oxWebAppLinkUrl: string;
  /** Runs the registered handler of `name`, as the host would. */
  invoke(name: string, request: HttpRequest, context?: InvocationContext): Promise<HttpResponseInit>;
  /** AuthorizeStart then LWACallback through the registered functions; throws unless the seller ends authorized. */
  authorize(customerId: string, sellingPartnerId: string): Promise<void>;
  /**
   * Dates the customer's shared access token (the code exchange's, written with the grant) back past
   * FORCED_REFRESH_REUSE_MS, so its next forced refresh reaches LWA: the registered app runs on the system clock.
   */
  pastForcedRefreshReuse(customerId: string): void;
  close(): Promise<void>;
}

export async function registerFunctions(): Promise<RegisteredFunctions> {
  const dir = mkdtempSync(join(tmpdir(), 'spapi-functions-'));
  const clientSecret = `amzn1.oa2-cs.v1.${randomBytes(24).toString('hex')}`;
  const launchLinkSecret = randomBytes(32).toString('base64url');
  const lwa = await startFakeLwa({ clientId: CLIENT_ID, clientSecret, clock: systemClock });
  const redirectUri = 'https://spapi-auth.example.net/api/lwa-callback';
  const oxWebAppLinkUrl = 'https://app.shipica.example/amazon/login';
  const env: Record<string, string | undefined> = {
    SPAPI_APPLICATION_ID: APPLICATION_ID,
    SPAPI_REDIRECT_URI: redirectUri,
    SPAPI_DRAFT_APP: undefined,
    LWA_CLIENT_ID: CLIENT_ID,
    LWA_CLIENT_SECRET: clientSecret,
    LWA_CLIENT_SECRET_PREVIOUS: undefined,
    LWA_CLIENT_SECRET_EXPIRES_AT: undefined,
    LWA_TOKEN_URL: lwa.url,
    LWA_TIMEOUT_MS: '2000',
    SELLER_CENTRAL_URL: undefined,
    LAUNCH_LINK_SECRET: launchLinkSecret,
    TOKEN_ENCRYPTION_KEYS: `test1:${randomBytes(32).toString('base64')}`,
    AUTH_RESULT_URL: undefined,
    OXWEBAPP_LINK_URL: oxWebAppLinkUrl,
    LOCAL_DB_PATH: join(dir, 'store.sqlite'),
    SQL_CONNECTION_STRING: undefined,
    SQL_SERVER: undefined,
    SQL_DATABASE: undefined,
    SQL_AUTH: undefined,
    WEBSITE_INSTANCE_ID: undefined,
    WEBSITE_SKU: undefined,
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);

  const functions = new Map<string, HttpFunctionOptions>();
  const timers = new Map<string, TimerFunctionOptions>();
  const spy = vi.spyOn(app, 'http').mockImplementation((name: string, options: HttpFunctionOptions) => {
    functions.set(name, options);
  });
  const timerSpy = vi.spyOn(app, 'timer').mockImplementation((name: string, options: TimerFunctionOptions) => {
    timers.set(name, options);
  });
  await import('../../src/functions/index.js');
  spy.mockRestore();
  timerSpy.mockRestore();
  const { processApp } = await import('../../src/app.js');
  const service = processApp();
  const state = await service.state();
  if (!state.ok) throw new Error(`test settings refused: ${state.problems.join('; ')}`);

  const invoke: RegisteredFunctions['invoke'] = async (name, request, context = recordingContext(name).context) => {
    const options = functions.get(name);
    if (options === undefined) throw new Error(`no function ${name} registered`);
    // Our handlers return HttpResponseInit (functions/index.ts), never an HttpResponse instance.
    return (await options.handler(request, context)) as HttpResponseInit;
  };
  const origin = 'https://spapi-auth.example.net';

  return {
    functions,
    timers,
    invoke,
    authorize: async (customerId, sellingPartnerId) => {
      const link = buildLaunchLink(origin, { customerId, marketplace: 'US', expires: Math.floor(Date.now() / 1000) + 600 }, launchLinkSecret);
      const start = await invoke('AuthorizeStart', hostRequest('GET', link));
      const state = new URL(new Headers(start.headers as Record<string, string>).get('location') ?? '').searchParams.get('state') ?? '';
      const [binding] = (start.cookies ?? []) as Array<{ name: string; value: string }>;
      const callback = new URL('/api/lwa-callback', origin);
      callback.searchParams.set('state', state);
      callback.searchParams.set('selling_partner_id', sellingPartnerId);
      callback.searchParams.set('spapi_oauth_code', lwa.sandbox.issueCode({ redirectUri, sellingPartnerId }));
      const cookie = { headers: { cookie: `${binding?.name}=${binding?.value}` } };
      const answered = await invoke('LWACallback', hostRequest('GET', callback.toString(), cookie));
      // Post/redirect/get: the result page is at the 303's Location, bound to the same browser's cookie.
      const result = new Headers(answered.headers as Record<string, string>).get('location');
      const done = answered.status === 303 && result !== null ? await invoke('LWACallback', hostRequest('GET', new URL(result, origin).toString(), cookie)) : answered;
      if (done.status !== 200 || !String(done.body).includes('Shipica is authorized')) throw new Error(`authorizing ${customerId} ended with ${done.status}`);
    },
    pastForcedRefreshReuse: (customerId) => {
      const db = new Database(env['LOCAL_DB_PATH'] ?? '');
      try {
        const refreshedAt = new Date(Date.now() - FORCED_REFRESH_REUSE_MS - 1_000).toISOString();
        const changed = db.prepare('UPDATE sp_api_access_tokens SET refreshed_at = ? WHERE customer_id = ?').run(refreshedAt, customerId).changes;
        if (changed === 0) throw new Error(`customer ${customerId} has no shared access token`);
      } finally {
        db.close();
      }
    },
    lwa,
    app: service,
    redirectUri,
    launchLinkSecret,
    oxWebAppLinkUrl,
    close: async () => {
      await service.close();
      await lwa.close();
      vi.unstubAllEnvs();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * An HttpRequest as the Functions host builds it: the full raw URL, and a query map in which a repeated parameter's
 * values are joined with commas (ASP.NET's query collection, which the host hands to the worker).
 */
export function hostRequest(method: string, url: string, init: { headers?: Record<string, string>; params?: Record<string, string> } = {}): HttpRequest {
  const raw = new URL(url).searchParams;
  const query: Record<string, string> = {};
  for (const name of new Set(raw.keys())) query[name] = raw.getAll(name).join(',');
  return new HttpRequest({ method, url, query, headers: init.headers ?? {}, params: init.params ?? {} });
}

export interface RecordedLine {
  level: LogLevel;
  text: string;
}

/** An InvocationContext whose log handler records each line with the level the host would record it at. */
export function recordingContext(functionName: string): { context: InvocationContext; lines: RecordedLine[] } {
  const lines: RecordedLine[] = [];
  const context = new InvocationContext({
    invocationId: randomBytes(8).toString('hex'),
    functionName,
    logHandler: (level, ...args) => lines.push({ level, text: args.map(String).join(' ') }),
  });
  return { context, lines };
}
