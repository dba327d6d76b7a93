import { app, type HttpFunctionOptions, type TimerFunctionOptions } from '@azure/functions';
import { describe, expect, it, vi } from 'vitest';

/** What `func start` / Azure would index: names, routes, methods and auth levels of the issue's §2, and nothing else. */
const timersRegistered = new Map<string, TimerFunctionOptions>();

describe('Azure Functions registration', () => {
  it('registers the browser-facing functions anonymous and the access-token functions behind a function key', async () => {
    const registered = new Map<string, HttpFunctionOptions>();
    const spy = vi.spyOn(app, 'http').mockImplementation((name: string, options: HttpFunctionOptions) => {
      registered.set(name, options);
    });
    const timerSpy = vi.spyOn(app, 'timer').mockImplementation((name: string, options: TimerFunctionOptions) => {
      timersRegistered.set(name, options);
    });
    await import('../../src/functions/index.js');
    spy.mockRestore();
    timerSpy.mockRestore();

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
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { main: string };
    expect(pkg.main).toBe('dist/functions/*.js');
  });
});
