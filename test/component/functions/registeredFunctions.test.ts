import { app, type HttpFunctionOptions, type TimerFunctionOptions } from '@azure/functions';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { SETTING_NAMES } from '../../../src/config/settingReader.js';

/**
 * What `func start` / Azure would index: names, routes, methods and auth levels of the issue's §2, and nothing else.
 * Registered from an app with no settings at all (none of this process's environment): indexing never depends on them.
 */
const timersRegistered = new Map<string, TimerFunctionOptions>();
afterAll(() => {
  vi.unstubAllEnvs();
});

describe('Azure Functions registration', () => {
  it('registers the browser-facing functions anonymous and the access-token functions behind a function key', async () => {
    for (const name of [...SETTING_NAMES, 'WEBSITE_INSTANCE_ID', 'WEBSITE_SKU']) vi.stubEnv(name, undefined);
    const registered = new Map<string, HttpFunctionOptions>();
    const spy = vi.spyOn(app, 'http').mockImplementation((name: string, options: HttpFunctionOptions) => {
      registered.set(name, options);
    });
    const timerSpy = vi.spyOn(app, 'timer').mockImplementation((name: string, options: TimerFunctionOptions) => {
      timersRegistered.set(name, options);
    });
    const stderr: string[] = [];
    const stderrSpy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
    await import('../../../src/functions/index.js');
    spy.mockRestore();
    timerSpy.mockRestore();
    stderrSpy.mockRestore();

    // Settings are checked at start-up, so the missing ones are in the log before the first request (one error line each).
    const lines = stderr.join('').split('\n').filter((line) => line !== '');
    expect(lines.map((line) => JSON.parse(line) as { level: string; message: string; problem: string })).toEqual(
      ['SPAPI_APPLICATION_ID', 'SPAPI_REDIRECT_URI', 'LWA_CLIENT_ID', 'LWA_CLIENT_SECRET', 'LAUNCH_LINK_SECRET', 'TOKEN_ENCRYPTION_KEYS'].map((name) =>
        expect.objectContaining({ level: 'error', message: 'invalid setting', problem: `${name} is required.` }),
      ),
    );

    const summary = [...registered].map(([name, o]) => ({ name, route: o.route, methods: o.methods, authLevel: o.authLevel }));
    expect(summary).toEqual([
      { name: 'AuthorizeStart', route: 'authorize', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'LWACallback', route: 'lwa-callback', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'Health', route: 'health', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'AppstoreLogin', route: 'login', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'CredentialsStatus', route: 'credentials', methods: ['GET'], authLevel: 'admin' },
      { name: 'AccessToken', route: 'customers/{customerId}/access-token', methods: ['POST'], authLevel: 'function' },
      { name: 'SellerAccessToken', route: 'sellers/{sellingPartnerId}/access-token', methods: ['POST'], authLevel: 'function' },
    ]);
    // The sandbox never reaches Azure.
    expect(summary.some((f) => f.route?.includes('sandbox'))).toBe(false);
  });

  it('registers the timers: EventDelivery every minute and CredentialSweep on its schedule, neither on start-up', () => {
    expect([...timersRegistered].map(([name, o]) => ({ name, schedule: o.schedule, runOnStartup: o.runOnStartup }))).toEqual([
      { name: 'EventDelivery', schedule: '0 */1 * * * *', runOnStartup: false },
      { name: 'CredentialSweep', schedule: '0 30 3 * * *', runOnStartup: false },
    ]);
  });

  it('points package.json "main" at the compiled entry file', async () => {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { main: string };
    expect(pkg.main).toBe('dist/functions/*.js');
  });
});
