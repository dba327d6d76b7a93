import { afterEach, describe, expect, it } from 'vitest';
import { CookieClient, type Exchange } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';

/**
 * The Far East is authorized per marketplace (Amazon issues JP, AU and SG their own consent, refresh token and often
 * selling partner id): each is a credential of its own, through the website flow, the access-token routes, the
 * Login URI from that marketplace's Seller Central, the sweep and the ops view. NA and EU stay one per region.
 */
let h: Harness;
afterEach(async () => {
  await h.close();
});

const json = (res: Exchange): Record<string, unknown> => JSON.parse(res.body) as Record<string, unknown>;
const api = new CookieClient();
const post = (path: string) => api.request(`${h.origin}${path}`, { method: 'POST' });

async function authorize(customer: string, marketplace: string, sellingPartnerId: string): Promise<Exchange> {
  const browser = new CookieClient();
  return browser.get(await h.approve(browser, customer, { marketplace, sellingPartnerId }));
}

describe('one customer selling in Japan and Australia', () => {
  it('holds a JP and an AU credential side by side, with the same seller id: authorizing AU leaves JP as it was', async () => {
    h = await startHarness();
    expect((await authorize('47', 'JP', 'A1SANDBOXSELLER1')).status).toBe(200);
    const { store } = await h.services();
    const japan = await store.findCredential('47', 'JP');
    const page = await authorize('47', 'AU', 'A1SANDBOXSELLER1');
    expect(page.status).toBe(200);
    expect(page.body).toContain('in Australia');

    expect(await store.findCredential('47', 'JP')).toEqual(japan);
    const rows = await store.listCredentialStatus({ customerId: '47' }, h.clock.now());
    expect(rows.map((r) => [r.scope, r.region, r.marketplace, r.status, r.sellingPartnerId])).toEqual([
      ['AU', 'FE', 'AU', 'authorized', 'A1SANDBOXSELLER1'],
      ['JP', 'FE', 'JP', 'authorized', 'A1SANDBOXSELLER1'],
    ]);
    const australia = await store.findCredential('47', 'AU');
    expect(australia?.lwaRefreshToken).not.toBe(japan?.lwaRefreshToken);
    // Two grants, each named by its scope; no reauthorized (nothing was replaced).
    expect((await store.listEvents({ customerId: '47' })).map((e) => [e.type, e.scope, e.region])).toEqual([
      ['authorization.granted', 'JP', 'FE'],
      ['authorization.granted', 'AU', 'FE'],
    ]);
  });

  it('authorizes AU with its own seller id (no partner_changed), and JP keeps its seller', async () => {
    h = await startHarness();
    expect((await authorize('47', 'JP', 'A1SANDBOXSELLER1')).status).toBe(200);
    const page = await authorize('47', 'AU', 'A2SANDBOXSELLER2');
    expect(page.status).toBe(200);
    const { store } = await h.services();
    expect((await store.findCredential('47', 'JP'))?.sellingPartnerId).toBe('A1SANDBOXSELLER1');
    expect((await store.findCredential('47', 'AU'))?.sellingPartnerId).toBe('A2SANDBOXSELLER2');
  });

  it('answers access tokens per marketplace; region=FE with two Far East credentials is a 400 naming the choices', async () => {
    h = await startHarness();
    await authorize('47', 'JP', 'A1SANDBOXSELLER1');
    await authorize('47', 'AU', 'A2SANDBOXSELLER2');

    const japan = await post('/api/customers/47/access-token?marketplace=JP');
    expect(japan.status).toBe(200);
    expect(json(japan)).toMatchObject({ customer_id: '47', selling_partner_id: 'A1SANDBOXSELLER1', scope: 'JP', region: 'FE' });
    const australia = await post('/api/customers/47/access-token?marketplace=au&region=FE');
    expect(json(australia)).toMatchObject({ selling_partner_id: 'A2SANDBOXSELLER2', scope: 'AU', region: 'FE' });
    const bySeller = await post('/api/sellers/A2SANDBOXSELLER2/access-token');
    expect(json(bySeller)).toMatchObject({ scope: 'AU' });

    const farEast = await post('/api/customers/47/access-token?region=FE');
    expect(farEast.status).toBe(400);
    expect(json(farEast)).toEqual({
      error: 'marketplace_required',
      message: 'Customer 47 has 2 Amazon authorizations in FE (AU, JP): name one with ?marketplace=AU|JP.',
    });
    const unnamed = await post('/api/customers/47/access-token');
    expect(unnamed.status).toBe(400);
    expect(json(unnamed)['error']).toBe('region_required');
    expect(json(unnamed)['message']).toContain('?marketplace=AU|JP');

    expect(json(await post('/api/customers/47/access-token?marketplace=SG'))).toMatchObject({ error: 'not_authorized' });
    const wrong = await post('/api/customers/47/access-token?marketplace=JP&region=EU');
    expect([wrong.status, json(wrong)['error']]).toEqual([400, 'invalid_request']);
    const unknown = await post('/api/customers/47/access-token?marketplace=XX');
    expect([unknown.status, json(unknown)['error']]).toEqual([400, 'invalid_request']);
  });

  it('re-authorizes from Seller Central Japan: the Login URI renews the JP credential only', async () => {
    h = await startHarness();
    await authorize('47', 'JP', 'A1SANDBOXSELLER1');
    await authorize('47', 'AU', 'A1SANDBOXSELLER1');
    const { store } = await h.services();
    const australia = await store.findCredential('47', 'AU');
    const japan = await store.findCredential('47', 'JP');
    h.clock.advance(300 * 86_400_000);

    const browser = new CookieClient();
    let res = await browser.get(`${h.origin}/sandbox/sellercentral/apps/login-uri?selling_partner_id=A1SANDBOXSELLER1&scope=JP`);
    for (let hops = 0; res.status === 302 && res.location?.startsWith(h.origin) === true && hops < 6; hops++) res = await browser.get(res.location);
    const consent = /name="consent" value="([^"]+)"/.exec(res.body)?.[1] ?? '';
    const decided = await browser.postForm(`${h.origin}/sandbox/sellercentral/apps/authorize/decide`, { consent, decision: 'confirm', selling_partner_id: 'A1SANDBOXSELLER1' });
    const page = await browser.get(decided.location ?? '');
    expect(page.status).toBe(200);
    expect(page.body).toContain('in Japan');

    expect((await store.findCredential('47', 'JP'))?.lwaRefreshToken).not.toBe(japan?.lwaRefreshToken);
    expect(await store.findCredential('47', 'AU')).toEqual(australia);
    const attempts = await store.listAttempts({ customerId: '47' });
    expect(attempts.filter((a) => a.flow === 'reauthorize').map((a) => [a.scope, a.outcome])).toEqual([['JP', 'succeeded']]);
  });

  it('checks each Far East credential in the sweep on the FE endpoint, and lists each by scope in /api/credentials', async () => {
    h = await startHarness();
    await authorize('47', 'JP', 'A1SANDBOXSELLER1');
    await authorize('47', 'SG', 'A3SANDBOXSELLER3');
    await authorize('48', 'US', 'A2SANDBOXSELLER2');
    const services = await h.services();
    const summary = await services.sweep.run();
    expect(summary.sellers.map((s) => [s.customerId, s.scope, s.outcome])).toEqual([
      ['47', 'JP', 'verified'],
      ['47', 'SG', 'verified'],
      ['48', 'NA', 'verified'],
    ]);
    expect((await services.store.listCredentialChecks({ customerId: '47' })).map((c) => [c.scope, c.region, c.countryCodes.includes(c.scope)])).toEqual([
      ['JP', 'FE', true],
      ['SG', 'FE', true],
    ]);
    const listed = await api.get(`${h.origin}/api/credentials?customer_id=47`);
    const credentials = (json(listed)['credentials'] as Array<Record<string, unknown>>).map((r) => [r['scope'], r['region'], r['status']]);
    expect(credentials).toEqual([
      ['JP', 'FE', 'authorized'],
      ['SG', 'FE', 'authorized'],
    ]);
  });
});
