import { afterEach, describe, expect, it } from 'vitest';
import { FORCED_REFRESH_REUSE_MS } from '../../../src/accessTokens/leaseDecision.js';
import { CookieClient, type Exchange } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';

/**
 * Something wrong for every seller at once is Shipica's incident, not N sellers' problems: one warning in
 * /api/health (still 200), one error line, one service.incident_started event when it starts and one
 * service.incident_ended when it ends; per-seller flags and events only for what is that seller's own.
 */
let h: Harness;
afterEach(async () => {
  await h.close();
});

const SELLERS = { '41': 'A1SANDBOXSELLER1', '42': 'A2SANDBOXSELLER2', '43': 'A3SANDBOXSELLER3' } as const;
const api = new CookieClient();
const post = (path: string) => api.request(`${h.origin}${path}`, { method: 'POST' });
const json = (res: Exchange): Record<string, unknown> => JSON.parse(res.body) as Record<string, unknown>;
const errorLines = () => h.logs.map((l) => JSON.parse(l) as { level: string; message: string }).filter((l) => l.level === 'error');
const health = async () => {
  const res = await api.get(`${h.origin}/api/health`);
  return { status: res.status, body: json(res) };
};

async function threeSellers(): Promise<void> {
  h = await startHarness();
  for (const [customer, seller] of Object.entries(SELLERS)) {
    const browser = new CookieClient();
    expect((await browser.get(await h.approve(browser, customer, { sellingPartnerId: seller }))).status).toBe(200);
  }
}

const serviceEvents = async () =>
  (await (await h.services()).store.listEvents({})).filter((e) => e.type.startsWith('service.')).map((e) => ({ type: e.type, customerId: e.customerId, data: JSON.parse(e.data) as unknown }));
const sellerEvents = async () =>
  (await (await h.services()).store.listEvents({})).filter((e) => e.customerId !== null && e.type !== 'authorization.granted').map((e) => [e.customerId, e.type]);

describe("LWA refusing Shipica's client credentials (an expired or rotated client secret)", () => {
  it('is one incident: a health warning with when it started, one error line, one event each way; no seller is touched', async () => {
    await threeSellers();
    h.clock.advance(FORCED_REFRESH_REUSE_MS + 1);
    h.lwa.sandbox.acceptClientSecrets('amzn1.oa2-cs.v1.rotated-at-amazon');
    const startedAt = h.clock.now();
    for (const customer of Object.keys(SELLERS)) {
      const res = await post(`/api/customers/${customer}/access-token?refresh=true`);
      expect([res.status, json(res)['error']]).toEqual([503, 'lwa_client_rejected']);
    }

    const during = await health();
    expect(during.status).toBe(200);
    expect(during.body['status']).toBe('ok');
    expect(during.body['warnings']).toEqual([expect.stringMatching(/^incident lwa_client_rejected since \d{4}-\d\d-\d\dT[\d:.]+Z: Login with Amazon refuses Shipica's client credentials/)]);
    const [incident] = during.body['incidents'] as Array<Record<string, unknown>>;
    expect(incident).toMatchObject({ kind: 'lwa_client_rejected', seen_count: 1, amazon_said: 'invalid_client: Client authentication failed (1 client secret tried)' });
    expect(Date.parse(String(incident?.['first_seen_at']))).toBeGreaterThanOrEqual(startedAt.getTime());
    expect(errorLines().map((l) => l.message)).toEqual([expect.stringMatching(/^incident started: Login with Amazon refuses Shipica's client credentials/)]);
    const rows = await (await h.services()).store.listCredentialStatus({}, h.clock.now());
    expect(rows.map((r) => [r.status, r.lastError])).toEqual([
      ['authorized', null],
      ['authorized', null],
      ['authorized', null],
    ]);
    expect(await sellerEvents()).toEqual([]);

    h.lwa.sandbox.acceptClientSecrets(h.secrets.clientSecret);
    expect((await post('/api/customers/41/access-token?refresh=true')).status).toBe(200);
    await (await h.services()).incidents.settled(); // the end is written beside the seller's answer, not before it
    expect(await health()).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await serviceEvents()).toEqual([
      { type: 'service.incident_started', customerId: null, data: expect.objectContaining({ incident: 'lwa_client_rejected', detail: expect.stringContaining('invalid_client') }) },
      { type: 'service.incident_ended', customerId: null, data: { incident: 'lwa_client_rejected' } },
    ]);
    expect(errorLines()).toHaveLength(1);
  });
});

describe('SP-API denying every seller a sweep checks (the app\'s roles, or an Amazon-wide 403)', () => {
  it('is one incident with what Amazon said, and no seller flagged; the run after it ends it without a seller event', async () => {
    await threeSellers();
    for (const seller of Object.values(SELLERS)) h.spApi.setMode(seller, 'denied');
    const { sweep, store } = await h.services();
    const first = await sweep.run();
    expect([first.appWideDenial, first.counts.access_denied]).toEqual([true, 3]);
    expect((await store.listCredentialChecks()).map((c) => [c.checkOutcome, c.flag, c.checkError])).toEqual([
      ['access_denied', null, 'HTTP 403 Unauthorized: Access to requested resource is denied.'],
      ['access_denied', null, 'HTTP 403 Unauthorized: Access to requested resource is denied.'],
      ['access_denied', null, 'HTTP 403 Unauthorized: Access to requested resource is denied.'],
    ]);
    expect(await sellerEvents()).toEqual([]);
    const during = await health();
    expect(during.status).toBe(200);
    expect(during.body['warnings']).toEqual([expect.stringMatching(/^incident spapi_denied_for_all since .*: SP-API denied every seller/)]);
    expect((during.body['incidents'] as unknown[])[0]).toMatchObject({ amazon_said: 'HTTP 403 Unauthorized: Access to requested resource is denied. (3 of 3 sellers checked)' });
    expect(errorLines().map((l) => l.message)).toEqual([expect.stringMatching(/^incident started: SP-API answers 403 for every seller/)]);

    // Still denied the next day: counted, not told again.
    h.clock.advance(86_400_000);
    await sweep.run();
    expect((await serviceEvents()).map((e) => e.type)).toEqual(['service.incident_started']);
    expect(errorLines()).toHaveLength(1);

    for (const seller of Object.values(SELLERS)) h.spApi.setMode(seller, 'normal');
    h.clock.advance(86_400_000);
    const after = await sweep.run();
    expect([after.appWideDenial, after.counts.verified]).toEqual([false, 3]);
    expect((await serviceEvents()).map((e) => e.type)).toEqual(['service.incident_started', 'service.incident_ended']);
    expect(await sellerEvents()).toEqual([]);
    expect(await health()).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it("flags only the seller SP-API denied when others are answered, keeping Amazon's message; the flag's clearing is told too", async () => {
    await threeSellers();
    h.spApi.setMode(SELLERS['42'], 'denied');
    const { sweep, store } = await h.services();
    expect((await sweep.run()).appWideDenial).toBe(false);
    expect((await store.listCredentialChecks()).map((c) => [c.customerId, c.flag])).toEqual([
      ['41', null],
      ['42', 'spapi_access_denied'],
      ['43', null],
    ]);
    const denied = (await store.listEvents({ customerId: '42' })).find((e) => e.type === 'authorization.access_denied');
    expect(JSON.parse(denied?.data ?? '{}')).toEqual({ http_status: 403, amazon_said: 'HTTP 403 Unauthorized: Access to requested resource is denied.' });
    expect(await serviceEvents()).toEqual([]);
    expect(errorLines()).toEqual([]);

    h.spApi.setMode(SELLERS['42'], 'normal');
    h.clock.advance(86_400_000);
    await sweep.run();
    expect((await store.listCredentialChecks({ customerId: '42' }))[0]?.flag).toBeNull();
    const events = await store.listEvents({ customerId: '42' });
    expect(events.map((e) => e.type)).toEqual(['authorization.granted', 'authorization.access_denied', 'authorization.flag_cleared']);
    expect(JSON.parse(events.at(-1)?.data ?? '{}')).toEqual({ flag: 'spapi_access_denied' });
  });

  it('is judged over the whole fleet only: a sweep limited to one customer flags that customer', async () => {
    await threeSellers();
    const browser = new CookieClient();
    expect((await browser.get(await h.approve(browser, '41', { sellingPartnerId: SELLERS['41'], marketplace: 'DE' }))).status).toBe(200);
    h.spApi.setMode(SELLERS['41'], 'denied');
    const summary = await (await h.services()).sweep.run({ customerId: '41' });
    expect([summary.appWideDenial, summary.counts.access_denied]).toEqual([false, 2]);
    expect((await sellerEvents()).filter(([, type]) => type === 'authorization.access_denied')).toHaveLength(2);
    expect(await serviceEvents()).toEqual([]);
  });
});
