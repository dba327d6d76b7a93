import { afterEach, describe, expect, it } from 'vitest';
import type { CredentialStore } from '../../../src/credentials/index.js';
import type { Services } from '../../../src/app.js';
import { CredentialSweep } from '../../../src/sweep/credentialSweep.js';
import { consoleLogger } from '../../../src/logging/logging.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';

/** The credential sweep on SQLite against the sandbox Amazon (LWA token endpoint + SP-API marketplaceParticipations). */
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const DAY_MS = 86_400_000;
const SELLERS = { '41': 'A1SANDBOXSELLER1', '42': 'A2SANDBOXSELLER2', '43': 'A3SANDBOXSELLER3' } as const;

async function authorize(harness: Harness, customer: string, sellingPartnerId: string, marketplace = 'US'): Promise<void> {
  const browser = new CookieClient();
  const res = await browser.get(await harness.approve(browser, customer, { sellingPartnerId, marketplace }));
  expect(res.status).toBe(200);
}

async function threeSellers(): Promise<{ harness: Harness; services: Services }> {
  const harness = await startHarness();
  h = harness;
  for (const [customer, seller] of Object.entries(SELLERS)) await authorize(harness, customer, seller);
  return { harness, services: await harness.services() };
}

const statusOf = async (services: Services, customerId: string) => (await services.store.findCredential(customerId, 'NA'))?.status;
const eventTypes = async (services: Services, customerId: string) =>
  (await services.store.listEvents({ customerId })).map((e) => e.type).filter((t) => t !== 'authorization.granted');
const errorLines = (harness: Harness) => harness.logs.filter((l) => JSON.parse(l).level === 'error');

describe('CredentialSweep', () => {
  it("finds a seller revoked at Amazon: that row turns revoked with an event, the others stay authorized with their verified marketplaces", async () => {
    const { harness, services } = await threeSellers();
    harness.lwa.sandbox.revokeSeller(SELLERS['42']);
    const summary = await services.sweep.run();

    expect([await statusOf(services, '41'), await statusOf(services, '42'), await statusOf(services, '43')]).toEqual(['authorized', 'revoked', 'authorized']);
    expect(await eventTypes(services, '42')).toEqual(['authorization.revoked']);
    expect([await eventTypes(services, '41'), await eventTypes(services, '43')]).toEqual([[], []]);
    expect(summary.counts).toMatchObject({ verified: 2, revoked: 1, access_denied: 0, region_mismatch: 0, error: 0 });
    const checks = await services.store.listCredentialChecks();
    expect(checks.map((c) => [c.customerId, c.checkOutcome, c.countryCodes.join(',')])).toEqual([
      ['41', 'verified', 'US,CA,MX,BR'],
      ['42', 'revoked', ''],
      ['43', 'verified', 'US,CA,MX,BR'],
    ]);
    expect(checks[0]?.storeName).toBe('Sandbox Seller One');
    expect(checks[0]?.verifiedAt?.getTime()).toBeGreaterThan(0);
  });

  it('finds a revocation even when the seller\'s token was refreshed a moment before: the sweep asks LWA, never reuses a fresh token', async () => {
    const { harness, services } = await threeSellers();
    const before = await services.accessTokens.get({ customerId: '42', region: 'NA', forceRefresh: true });
    expect(before.ok).toBe(true);
    harness.lwa.sandbox.revokeSeller(SELLERS['42']);
    const summary = await services.sweep.run();

    expect(await statusOf(services, '42')).toBe('revoked');
    expect(summary.counts).toMatchObject({ verified: 2, revoked: 1 });
  });

  it('flags a 403 from SP-API as spapi_access_denied with an event, and keeps the row authorized', async () => {
    const { harness, services } = await threeSellers();
    harness.spApi.setMode(SELLERS['41'], 'denied');
    await services.sweep.run();
    expect(await statusOf(services, '41')).toBe('authorized');
    const [check] = await services.store.listCredentialChecks({ customerId: '41' });
    expect([check?.flag, check?.checkError]).toEqual(['spapi_access_denied', 'HTTP 403 Unauthorized: Access to requested resource is denied.']);
    expect(await eventTypes(services, '41')).toEqual(['authorization.access_denied']);
    const [event] = (await services.store.listEvents({ customerId: '41' })).filter((e) => e.type === 'authorization.access_denied');
    expect(JSON.parse(event?.data ?? '{}')).toMatchObject({ http_status: 403, amazon_said: 'HTTP 403 Unauthorized: Access to requested resource is denied.' });
    expect(errorLines(harness)).toEqual([]); // one seller denied is that seller's matter
  });

  it('logs one app-wide error line when SP-API denies every seller of the run, and flags none of them', async () => {
    const { harness, services } = await threeSellers();
    for (const seller of Object.values(SELLERS)) harness.spApi.setMode(seller, 'denied');
    const summary = await services.sweep.run();
    expect(summary.appWideDenial).toBe(true);
    const errors = errorLines(harness);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('incident started: SP-API answers 403 for every seller the credential sweep checked');
    expect(JSON.parse(errors[0] ?? '{}')).toMatchObject({ incident: 'spapi_denied_for_all', detail: 'HTTP 403 Unauthorized: Access to requested resource is denied. (3 of 3 sellers checked)' });
    expect([await statusOf(services, '41'), await statusOf(services, '42'), await statusOf(services, '43')]).toEqual(['authorized', 'authorized', 'authorized']);
    // The incident is the app's, not the sellers': each check records the 403, no flag, no per-seller event.
    const checks = await services.store.listCredentialChecks();
    expect(checks.map((c) => [c.customerId, c.checkOutcome, c.flag])).toEqual([
      ['41', 'access_denied', null],
      ['42', 'access_denied', null],
      ['43', 'access_denied', null],
    ]);
    for (const customer of Object.keys(SELLERS)) expect(await eventTypes(services, customer)).toEqual([]);
  });

  it("flags a seller whose participations lie in another region as region_mismatch, with one event across two runs", async () => {
    const { harness, services } = await threeSellers();
    harness.spApi.setMode(SELLERS['43'], 'other_region');
    await services.sweep.run();
    harness.clock.advance(DAY_MS);
    await services.sweep.run();
    const [check] = await services.store.listCredentialChecks({ customerId: '43' });
    expect([check?.flag, check?.countryCodes.includes('DE')]).toEqual(['region_mismatch', true]);
    expect(await eventTypes(services, '43')).toEqual(['authorization.region_mismatch']);
    expect(await statusOf(services, '43')).toBe('authorized');
    const [event] = (await services.store.listEvents({ customerId: '43' })).filter((e) => e.type === 'authorization.region_mismatch');
    expect(JSON.parse(event?.data ?? '{}')).toMatchObject({ marketplace: 'US' });
  });

  it('with 29 and 6 days left, writes exactly one expiring event for each across three runs', async () => {
    const harness = await startHarness();
    h = harness;
    await authorize(harness, '41', SELLERS['41']);
    harness.clock.advance(23 * DAY_MS);
    await authorize(harness, '42', SELLERS['42']);
    harness.clock.advance(336 * DAY_MS - 3_600_000); // 41: 6 days and an hour left; 42: 29 days and an hour
    const services = await harness.services();
    for (let run = 0; run < 3; run += 1) {
      await services.sweep.run();
      harness.clock.advance(3_600_000);
    }
    const expiring = async (customerId: string) =>
      (await services.store.listEvents({ customerId })).filter((e) => e.type === 'authorization.expiring').map((e) => JSON.parse(e.data) as Record<string, unknown>);
    expect((await expiring('41')).map((d) => [d['threshold_days'], d['days_left']])).toEqual([[7, 6]]);
    expect((await expiring('42')).map((d) => [d['threshold_days'], d['days_left']])).toEqual([[30, 29]]);
  });

  it('writes one authorization.expired once the deadline has passed', async () => {
    const harness = await startHarness();
    h = harness;
    await authorize(harness, '41', SELLERS['41']);
    harness.clock.advance(366 * DAY_MS);
    const services = await harness.services();
    await services.sweep.run();
    await services.sweep.run();
    expect((await services.store.listEvents({ customerId: '41' })).map((e) => e.type).filter((t) => t.startsWith('authorization.exp'))).toEqual(['authorization.expired']);
  });

  it('sends 30-day, 7-day and expired reminders once each over a grant, and starts over after a re-authorization', async () => {
    const harness = await startHarness();
    h = harness;
    await authorize(harness, '41', SELLERS['41']);
    const services = await harness.services();
    const reminders = async () =>
      (await services.store.listEvents({ customerId: '41' }))
        .filter((e) => e.type === 'authorization.expiring' || e.type === 'authorization.expired')
        .map((e) => `${e.type}:${String((JSON.parse(e.data) as Record<string, unknown>)['threshold_days'] ?? '-')}`);
    for (const days of [336, 1, 22, 1, 7, 1]) {
      harness.clock.advance(days * DAY_MS); // 29 days left, 28, 6, 5, -2, -3
      await services.sweep.run();
    }
    expect(await reminders()).toEqual(['authorization.expiring:30', 'authorization.expiring:7', 'authorization.expired:-']);
    await authorize(harness, '41', SELLERS['41']);
    harness.clock.advance(340 * DAY_MS); // 25 days left on the new grant
    await services.sweep.run();
    await services.sweep.run();
    expect(await reminders()).toEqual(['authorization.expiring:30', 'authorization.expiring:7', 'authorization.expired:-', 'authorization.expiring:30']);
  });

  it('checks first the rows whose last check is oldest, so runs cut short (a function timeout) still reach every row in turn', async () => {
    const { harness, services } = await threeSellers();
    await services.sweep.run({ customerId: '41' }); // 41 checked; 42 and 43 never
    harness.clock.advance(DAY_MS);
    const claims: string[] = [];
    const store = new Proxy(services.store, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (property !== 'claimCredentialCheck' || typeof value !== 'function') return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
        return async (claim: Parameters<CredentialStore['claimCredentialCheck']>[0]) => {
          claims.push(claim.customerId);
          return target.claimCredentialCheck(claim);
        };
      },
    });
    const sweep = new CredentialSweep({ ...services, store, logger: consoleLogger(() => undefined), retentionDays: 90 });
    await sweep.run();
    expect(claims).toEqual(['42', '43', '41']);
  });

  it('two sweeps at once check each seller once', async () => {
    const { harness, services } = await threeSellers();
    const other = await harness.services(); // the same store, as a second timer instance would share it
    const [a, b] = await Promise.all([services.sweep.run(), other.sweep.run()]);
    expect(Object.values(SELLERS).map((s) => harness.spApi.calls.get(s))).toEqual([1, 1, 1]);
    expect(a.counts.verified + b.counts.verified).toBe(3);
    expect(a.counts.skipped + b.counts.skipped).toBe(3);
  });

  it('retention deletes ended attempts and delivered events older than ATTEMPT_RETENTION_DAYS, and nothing else', async () => {
    const harness = await startHarness({ ATTEMPT_RETENTION_DAYS: '30' });
    h = harness;
    await authorize(harness, '41', SELLERS['41']); // attempt 1 (ended) and granted (to be delivered)
    await authorize(harness, '41', SELLERS['41']); // attempt 2: the row's last, and reauthorized (left pending)
    const services = await harness.services();
    const [first] = await services.store.claimDueEvents({ now: harness.clock.now(), leaseUntil: new Date(harness.clock.now().getTime() + 60_000), limit: 10 });
    await services.store.recordDelivery({ eventId: first?.eventId ?? 0, outcome: 'delivered', now: harness.clock.now() });
    harness.clock.advance(29 * DAY_MS);
    const early = await services.sweep.run();
    expect([early.purgedAttempts, early.purgedEvents]).toEqual([0, 0]);
    harness.clock.advance(2 * DAY_MS);
    const late = await services.sweep.run();
    expect([late.purgedAttempts, late.purgedEvents]).toEqual([1, 1]);
    expect((await services.store.listAttempts({ customerId: '41' })).filter((a) => a.flow === 'website')).toHaveLength(1);
    expect((await services.store.listEvents({ customerId: '41' })).map((e) => [e.type, e.deliveryState])).toEqual([['authorization.reauthorized', 'pending']]);
  });

  it('a 429 from SP-API is left to the next run: one call per seller per run, nothing flagged', async () => {
    const { harness, services } = await threeSellers();
    harness.spApi.setMode(SELLERS['41'], 'throttled');
    const first = await services.sweep.run();
    expect([first.counts.rate_limited, harness.spApi.calls.get(SELLERS['41'])]).toEqual([1, 1]);
    const [check] = await services.store.listCredentialChecks({ customerId: '41' });
    expect([check?.checkOutcome, check?.checkError, check?.flag]).toEqual(['rate_limited', 'HTTP 429 (rate limit 0.016/s)', null]);
    harness.spApi.setMode(SELLERS['41'], 'normal');
    harness.clock.advance(DAY_MS);
    expect((await services.sweep.run()).counts.verified).toBe(3);
    expect(harness.spApi.calls.get(SELLERS['41'])).toBe(2);
  });

  it("stops when LWA refuses the app's own client secret, and marks no seller", async () => {
    const harness = await startHarness({}, { amazonClientSecret: 'amzn1.oa2-cs.v1.rotated-at-amazon-0000000000000000' });
    h = harness;
    const services = await harness.services();
    // Rows made through the store: the code exchange would fail too with the wrong secret.
    for (const [customerId, seller] of Object.entries(SELLERS)) {
      const refreshToken = harness.lwa.sandbox.selfAuthorize(seller);
      const fingerprint = services.cipher.fingerprint(refreshToken);
      expect(
        await services.store.importRefreshToken({
          customerId,
          scope: 'NA',
          marketplace: 'US',
          sellingPartnerId: seller,
          encryptedRefreshToken: services.cipher.encrypt(refreshToken, { column: 'lwa_refresh_token', customerId, region: 'NA' }),
          refreshTokenFingerprint: fingerprint,
          fingerprints: [fingerprint],
          now: harness.clock.now(),
        }),
      ).toBe('stored');
    }
    const summary = await services.sweep.run();
    expect(summary.stopped).toBe('lwa_client_rejected');
    expect(harness.spApi.calls.size).toBe(0);
    expect([await statusOf(services, '41'), await statusOf(services, '42'), await statusOf(services, '43')]).toEqual(['authorized', 'authorized', 'authorized']);
  });

  it('a dry run calls neither LWA nor SP-API and writes nothing', async () => {
    const { harness, services } = await threeSellers();
    const refreshes = harness.lwa.sandbox.requests.refresh_token;
    const events = await services.store.listEvents();
    const summary = await services.sweep.run({ dryRun: true });
    expect(summary.counts.would_check).toBe(3);
    expect(harness.lwa.sandbox.requests.refresh_token).toBe(refreshes);
    expect(harness.spApi.calls.size).toBe(0);
    expect(await services.store.listEvents()).toEqual(events);
    expect(await services.store.listCredentialChecks()).toEqual([]);
  });
});
