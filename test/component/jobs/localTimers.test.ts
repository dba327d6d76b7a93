import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCommand } from '../../../src/cli/start.js';
import { buildLaunchLink } from '../../../src/authorization/launchLink.js';
import { DELIVERY_BACKOFF_MS } from '../../../src/events/deliveryPolicy.js';
import { startTimers } from '../../../src/jobs/scheduler.js';
import type { TimerJob } from '../../../src/jobs/timers.js';
import { consoleLogger } from '../../../src/logging/logging.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startFakeLwa, type FakeLwa } from '../../support/fakeLwa.js';
import { APPLICATION_ID, CLIENT_ID, startHarness, TestClock, type Harness } from '../../support/harness.js';
import { unusedPort } from '../../support/ports.js';

/**
 * Issue 16.5: `npm start` runs the timers as the Functions host does. startCommand with configured (non-sandbox)
 * settings, a loopback LWA and a loopback oxWebApp receiver; the test clock moves instead of the test waiting (the
 * timers look at the clock every 10 ms here).
 */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** oxWebApp's webhook: answers the given statuses in turn (then 204), and notes the test clock's time of each POST. */
async function receiver(clock: TestClock, statuses: number[]): Promise<{ url: string; tries: Array<{ at: number; status: number }> }> {
  const tries: Array<{ at: number; status: number }> = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const status = statuses.shift() ?? 204;
      tries.push({ at: clock.now().getTime(), status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, tries };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('npm start runs the timers (16.5)', () => {
  it('a webhook delivery refused twice is tried a third time per the backoff (30 s, then 2 min) by the EventDelivery timer', async () => {
    const clock = new TestClock();
    const dir = mkdtempSync(join(tmpdir(), 'local-timers-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const clientSecret = `amzn1.oa2-cs.v1.${randomBytes(24).toString('hex')}`;
    const lwa: FakeLwa = await startFakeLwa({ clientId: CLIENT_ID, clientSecret, clock });
    cleanups.push(() => lwa.close());
    const hook = await receiver(clock, [503, 503]);
    const port = await unusedPort();
    const origin = `http://localhost:${port}`;
    const launchLinkSecret = randomBytes(32).toString('base64url');
    const env = {
      PORT: String(port),
      SPAPI_APPLICATION_ID: APPLICATION_ID,
      SPAPI_REDIRECT_URI: `${origin}/api/lwa-callback`,
      LWA_CLIENT_ID: CLIENT_ID,
      LWA_CLIENT_SECRET: clientSecret,
      LWA_TOKEN_URL: lwa.url,
      SELLER_CENTRAL_URL: 'https://sellercentral.example.test',
      LAUNCH_LINK_SECRET: launchLinkSecret,
      TOKEN_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      LOCAL_DB_PATH: join(dir, 'store.sqlite'),
      EVENTS_WEBHOOK_URL: hook.url,
      EVENTS_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
    };
    const out: string[] = [];
    const started = await startCommand({ cwd: dir, env, print: (l) => out.push(l), printError: (l) => out.push(l), clock, timerPollMs: 10 });
    expect(started.code).toBe(0);
    cleanups.push(async () => {
      await started.host?.close();
      await started.app?.close();
    });
    expect(out.some((l) => /^Timers: EventDelivery next at .*, CredentialSweep next at .*T03:30:00\.000Z$/.test(l))).toBe(true);

    // A seller authorizes (no sandbox here: the callback is what Amazon would send): authorization.granted is written,
    // and the delivery right after the change is refused (first try).
    const browser = new CookieClient();
    const start = await browser.get(buildLaunchLink(origin, { customerId: '42', marketplace: 'US', expires: Math.floor(clock.now().getTime() / 1000) + 600 }, launchLinkSecret));
    const state = new URL(start.location ?? '').searchParams.get('state') ?? '';
    const callback = new URL(`${origin}/api/lwa-callback`);
    callback.searchParams.set('state', state);
    callback.searchParams.set('selling_partner_id', 'A1SANDBOXSELLER1');
    callback.searchParams.set('spapi_oauth_code', lwa.sandbox.issueCode({ redirectUri: env.SPAPI_REDIRECT_URI, sellingPartnerId: 'A1SANDBOXSELLER1' }));
    expect((await browser.get(callback.toString())).body).toContain('Shipica is authorized');
    await until(() => hook.tries.length === 1);
    const ready = await started.app?.state();
    if (!ready?.ok) throw new Error('app not ready');
    const { events, store } = ready.services;
    await events.settle(); // the refused try is recorded (its next try at +30 s) before the clock moves

    // The timer fires every minute; the event is due again 30 s after its first try: the next run tries it (refused).
    clock.advance(60_000);
    await until(() => hook.tries.length === 2);
    await events.settle();
    // One minute of the 2-minute wait: the next run finds nothing due.
    clock.advance(60_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(hook.tries).toHaveLength(2);
    clock.advance(60_000);
    await until(() => hook.tries.length === 3);

    expect(hook.tries.map((t) => t.status)).toEqual([503, 503, 204]);
    const [first, second, third] = hook.tries.map((t) => t.at);
    expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(DELIVERY_BACKOFF_MS[0] ?? 0);
    expect((third ?? 0) - (second ?? 0)).toBeGreaterThanOrEqual(DELIVERY_BACKOFF_MS[1] ?? 0);
    await events.settle();
    expect((await store.listEvents()).map((e) => [e.type, e.deliveryState, e.deliveryAttempts])).toEqual([['authorization.granted', 'delivered', 3]]);

    // Stopped with the host: the clock moves on, nothing more runs.
    await started.host?.close();
    clock.advance(10 * 60_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(hook.tries).toHaveLength(3);
  });
});

describe('the local timers (jobs/scheduler.ts)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('never overlaps runs of one timer: an occurrence while the last run still runs is skipped with a warning', async () => {
    h = await startHarness();
    let runs = 0;
    let finish: () => void = () => undefined;
    const slow: TimerJob = {
      name: 'EventDelivery',
      schedule: () => '* * * * * *',
      runOnStartup: false,
      run: () => {
        runs += 1;
        return new Promise<void>((resolve) => {
          finish = resolve;
        });
      },
    };
    const lines: string[] = [];
    const timers = startTimers({ app: h.app, logger: consoleLogger((l) => lines.push(l)), values: {}, jobs: [slow], clock: h.clock, pollMs: 5 });
    h.clock.advance(1_000);
    await until(() => runs === 1);
    for (let i = 0; i < 3; i++) {
      h.clock.advance(1_000);
      await until(() => lines.filter((l) => l.includes('timer run skipped')).length === i + 1);
    }
    expect(runs).toBe(1);
    finish();
    h.clock.advance(1_000);
    await until(() => runs === 2);
    const stopping = timers.stop();
    let stopped = false;
    void stopping.then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stopped).toBe(false); // stop waits for the run in progress
    finish();
    await stopping;
    h.clock.advance(5_000);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(runs).toBe(2);
  });

  it('a timer turned off by AzureWebJobs.<name>.Disabled, as the Functions host reads it, is not scheduled', async () => {
    h = await startHarness();
    const lines: string[] = [];
    const timers = startTimers({ app: h.app, logger: consoleLogger((l) => lines.push(l)), values: { 'AzureWebJobs.CredentialSweep.Disabled': 'true' }, clock: h.clock });
    expect([...timers.next.keys()]).toEqual(['EventDelivery']);
    expect(lines.map((l) => (JSON.parse(l) as { message: string; timer: string }).timer)).toEqual(['CredentialSweep']);
    await timers.stop();
  });
});
