import { resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildHostScript, pidOfLeaseOwner, requestToken, startFleet, type Fleet } from '../../support/fleet.js';

/**
 * The fleet as Azure Functions scales it out: 4 OS processes of the local host (built JS, as `npm start` runs it) on
 * one SQLite file (WAL), one loopback LWA counting refresh grants, cold in-process caches, 250 concurrent
 * access-token requests to each process for one seller.
 */
const PROCESSES = 4;
const REQUESTS_PER_PROCESS = 250;
let hostScript = '';
let fleet: Fleet | undefined;

beforeAll(() => {
  hostScript = buildHostScript(resolve(import.meta.dirname, '../../..'));
}, 120_000);

afterEach(async () => {
  await fleet?.close();
  fleet = undefined;
});

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

describe('one seller across 4 processes', () => {
  it('1,000 concurrent requests on cold caches cost exactly 1 LWA refresh and all answer 200 with the same token', async () => {
    fleet = await startFleet({ hostScript, size: PROCESSES, leaseSeconds: 10 });
    const answers = await Promise.all(fleet.hosts.flatMap((host) => Array.from({ length: REQUESTS_PER_PROCESS }, () => requestToken(host.origin))));
    expect(answers.filter((a) => a === 'failed' || a.status !== 200)).toEqual([]);
    expect(new Set(answers.map((a) => (a === 'failed' ? undefined : a.token))).size).toBe(1);
    expect(fleet.refreshGrants()).toBe(1);
  }, 60_000);

  it('the lease holder killed while LWA hangs: exactly 2 refreshes once its lease expires, every survivor request answered 200', async () => {
    const leaseSeconds = 3;
    fleet = await startFleet({ hostScript, size: PROCESSES, leaseSeconds });
    const current = fleet;
    current.lwa.fail({ hang: true }); // the first refresh grant never gets an answer
    const requests = current.hosts.map((host) => Promise.all(Array.from({ length: REQUESTS_PER_PROCESS }, () => requestToken(host.origin))));

    await until(() => current.refreshGrants() === 1, 'the first refresh grant');
    const holder = pidOfLeaseOwner(current.leaseOwner());
    const victim = current.hosts.find((host) => host.pid === holder);
    expect(victim).toBeDefined();
    await victim?.kill();

    const answered = await Promise.all(requests);
    const survivors = answered.filter((_, i) => current.hosts[i] !== victim).flat();
    expect(survivors).toHaveLength((PROCESSES - 1) * REQUESTS_PER_PROCESS);
    expect(survivors.filter((a) => a === 'failed' || a.status !== 200)).toEqual([]);
    expect(new Set(survivors.map((a) => (a === 'failed' ? undefined : a.token))).size).toBe(1);
    expect(current.refreshGrants()).toBe(2);
  }, 60_000);
});
