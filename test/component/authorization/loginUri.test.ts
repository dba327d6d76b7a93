import { afterEach, describe, expect, it } from 'vitest';
import { buildLaunchLink } from '../../../src/authorization/launchLink.js';
import { CookieClient, type Exchange } from '../../support/cookieClient.js';
import { startHarness, withParam, type Harness } from '../../support/harness.js';
import { authorizeOnWebsite, loginUri } from '../../support/steps.js';

/**
 * The Appstore / Login-URI workflow and the yearly re-authorization, through the local host and sandbox Amazon: the
 * guards on what the Login URI accepts (Seller Central callbacks only, path-only callbacks resolved against the
 * seller's region, vendor ids refused), and what anonymous Login-URI calls can and cannot do to the record.
 */
let h: Harness;
afterEach(async () => {
  await h.close();
});

const codeRequests = () => h.lwa.received.filter((f) => f.get('grant_type') === 'authorization_code').length;
const DAY = 86_400_000;

/** Follows redirects within the local host, as a browser would, stopping at a page or a foreign location. */
async function follow(client: CookieClient, url: string, hops: string[] = []): Promise<Exchange & { hops: string[] }> {
  let res = await client.get(url);
  hops.push(url);
  while (res.status === 302 && res.location?.startsWith(h.origin) && hops.length < 12) {
    hops.push(res.location);
    res = await client.get(res.location);
  }
  return { ...res, hops };
}

/** Clicks Confirm on the sandbox consent page in `page`. */
async function confirm(client: CookieClient, page: Exchange): Promise<Exchange & { hops: string[] }> {
  const consent = /name="consent" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  const seller = /name="selling_partner_id" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  const decided = await client.postForm(`${h.origin}/sandbox/sellercentral/apps/authorize/decide`, { consent, decision: 'confirm', selling_partner_id: seller });
  expect(decided.status).toBe(302);
  return follow(client, decided.location ?? '');
}

const authorizeByWebsite = (customer: string, marketplace = 'US', sellingPartnerId = 'A1SANDBOXSELLER1') => authorizeOnWebsite(h, customer, sellingPartnerId, marketplace);
const sellerCentral = () => `${h.origin}/sandbox/sellercentral`;
const reasonOf = (body: string) => /Reason: <code>([^<]+)<\/code>/.exec(body)?.[1];

describe('re-authorization from Manage Your Apps', () => {
  it('enters through the Login URI, replaces the refresh token and moves auth_granted_date', async () => {
    h = await startHarness();
    await authorizeByWebsite('42');
    const { store } = await h.services();
    const before = await store.findCredential('42', 'NA');
    h.clock.advance(300 * DAY);

    const browser = new CookieClient();
    const manage = await browser.get(`${h.origin}/sandbox/sellercentral/apps/manage`);
    expect(manage.body).toContain('Re-Authorize');
    const page = await follow(browser, `${h.origin}/sandbox/sellercentral/apps/login-uri?selling_partner_id=A1SANDBOXSELLER1&scope=NA`);
    // Amazon → Login URI → back to amazon_callback_uri with our state: the sandbox's consent page.
    const login = new URL(page.hops[1] ?? '');
    expect(login.pathname).toBe('/api/login');
    expect([...login.searchParams.keys()]).toEqual(['amazon_callback_uri', 'amazon_state', 'selling_partner_id']);
    const back = new URL(page.hops[2] ?? '');
    expect(back.pathname).toBe('/sandbox/sellercentral/na/apps/authorize/confirm');
    expect([...back.searchParams.keys()]).toEqual(['redirect_uri', 'amazon_state', 'state']);
    expect(back.searchParams.get('amazon_state')).toBe(login.searchParams.get('amazon_state'));
    expect(back.searchParams.get('redirect_uri')).toBe(`${h.origin}/api/lwa-callback`);
    expect(page.status).toBe(200);

    const done = await confirm(browser, page);
    expect(done.status).toBe(200);
    expect(done.body).toContain('Shipica is authorized');
    const after = await store.findCredential('42', 'NA');
    expect(after?.status).toBe('authorized');
    expect(after?.lwaRefreshToken).not.toBe(before?.lwaRefreshToken);
    expect(after?.authGrantedDate?.getTime()).toBeGreaterThan((before?.authGrantedDate?.getTime() ?? 0) + 299 * DAY);
    const attempts = await store.listAttempts({ customerId: '42' });
    expect(attempts.map((a) => [a.flow, a.outcome, a.expectedSellingPartnerId])).toEqual([
      ['website', 'succeeded', null],
      ['reauthorize', 'succeeded', 'A1SANDBOXSELLER1'],
    ]);
    expect(codeRequests()).toBe(2);
  });

  it('refuses a callback for another seller than the one Amazon named: partner_mismatch, no exchange', async () => {
    h = await startHarness();
    await authorizeByWebsite('42');
    const browser = new CookieClient();
    const page = await follow(browser, `${h.origin}/sandbox/sellercentral/apps/login-uri?selling_partner_id=A1SANDBOXSELLER1&scope=NA`);
    const consent = /name="consent" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    const decided = await browser.postForm(`${h.origin}/sandbox/sellercentral/apps/authorize/decide`, { consent, decision: 'confirm' });
    const res = await browser.get(withParam(decided.location ?? '', 'selling_partner_id', 'A2SANDBOXSELLER2'));
    expect(res.status).toBe(409);
    expect(res.body).toContain('<code>partner_mismatch</code>');
    expect(codeRequests()).toBe(1);
    const { store } = await h.services();
    expect(await store.findCredential('42', 'NA')).toMatchObject({ status: 'authorized', sellingPartnerId: 'A1SANDBOXSELLER1', lastError: 'partner_mismatch' });
  });

  it('passes version=beta through for a Draft app', async () => {
    h = await startHarness({ SPAPI_DRAFT_APP: 'true' });
    await authorizeByWebsite('42');
    const page = await follow(new CookieClient(), `${h.origin}/sandbox/sellercentral/apps/login-uri?selling_partner_id=A1SANDBOXSELLER1&scope=NA`);
    expect(new URL(page.hops[1] ?? '').searchParams.get('version')).toBe('beta');
    expect(new URL(page.hops[2] ?? '').searchParams.get('version')).toBe('beta');
    expect(page.status).toBe(200);
  });
});

describe('AppstoreLogin guards', () => {
  const login = (params: Record<string, string>) => `${h.origin}/api/login?${new URLSearchParams(params).toString()}`;

  it('redirects a known seller to a real Seller Central callback, keeping its query', async () => {
    h = await startHarness();
    await authorizeByWebsite('42', 'DE', 'A2SANDBOXSELLER2');
    const res = await new CookieClient().get(
      login({ amazon_callback_uri: 'https://sellercentral-europe.amazon.com/apps/authorize/confirm/amzn1.sp.solution.x?lang=de', amazon_state: 'amzn-state|1', selling_partner_id: 'A2SANDBOXSELLER2' }),
    );
    expect(res.status).toBe(302);
    const to = new URL(res.location ?? '');
    expect(`${to.origin}${to.pathname}`).toBe('https://sellercentral-europe.amazon.com/apps/authorize/confirm/amzn1.sp.solution.x');
    expect([...to.searchParams.keys()]).toEqual(['lang', 'redirect_uri', 'amazon_state', 'state']);
    expect(to.searchParams.get('amazon_state')).toBe('amzn-state|1');
    expect(res.setCookies[0]).toMatch(/^spapi_auth_[0-9a-f]{16}=.+; max-age=4200; path=\/api; samesite=lax; httponly$/);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it.each([
    ['a foreign host', 'https://evil.example/apps/authorize/confirm'],
    ['a look-alike host', 'https://sellercentral.amazon.com.evil.example/x'],
    ['plain http', 'http://sellercentral.amazon.com/x'],
    ['credentials in the URL', 'https://me@sellercentral.amazon.com/x'],
    ['a port', 'https://sellercentral.amazon.com:8443/x'],
    ['not a URL', 'sellercentral.amazon.com/x'],
  ])('refuses %s as amazon_callback_uri: 400 page, nothing written (no open redirect)', async (_name, uri) => {
    h = await startHarness();
    await authorizeByWebsite('42');
    const { store } = await h.services();
    const before = await store.listAttempts();
    const res = await new CookieClient().get(login({ amazon_callback_uri: uri, amazon_state: 's', selling_partner_id: 'A1SANDBOXSELLER1' }));
    expect(res.status).toBe(400);
    expect(res.location).toBeUndefined();
    expect(res.body).toContain('<code>amazon_callback_invalid</code>');
    expect(await store.listAttempts()).toEqual(before);
  });

  it('refuses an incomplete or repeated request', async () => {
    h = await startHarness();
    const uri = 'https://sellercentral.amazon.com/x';
    for (const url of [
      login({ amazon_callback_uri: uri, selling_partner_id: 'A1SANDBOXSELLER1' }),
      login({ amazon_callback_uri: uri, amazon_state: 's', selling_partner_id: 'A1-bad' }),
      login({ amazon_callback_uri: uri, amazon_state: 's', selling_partner_id: 'A1SANDBOXSELLER1', version: 'gamma' }),
      `${login({ amazon_callback_uri: uri, amazon_state: 's', selling_partner_id: 'A1SANDBOXSELLER1' })}&amazon_state=t`,
    ]) {
      const res = await new CookieClient().get(url);
      expect(res.status).toBe(400);
      expect(res.body).toContain('<code>login_request_invalid</code>');
    }
  });

  it('tells an unknown seller to start from Shipica when no OXWEBAPP_LINK_URL is set', async () => {
    h = await startHarness({ OXWEBAPP_LINK_URL: '' });
    const res = await new CookieClient().get(login({ amazon_callback_uri: 'https://sellercentral.amazon.com/x', amazon_state: 's', selling_partner_id: 'A3SANDBOXSELLER3' }));
    expect(res.status).toBe(200);
    expect(res.body).toContain('Log in to Shipica');
    expect(await (await h.services()).store.listAttempts()).toEqual([]);
  });
});

describe('vendor ids are understood', () => {
  it('a Login-URI request for a vendor id gets vendor_not_supported, writing nothing', async () => {
    h = await startHarness();
    const res = await new CookieClient().get(loginUri(h, { seller: 'amzn1.vg.1234567' }));
    expect(res.status).toBe(400);
    expect(res.body).toContain('<code>vendor_not_supported</code>');
    const { store } = await h.services();
    expect(await store.listAttempts()).toEqual([]);
    expect(await store.listCredentials()).toEqual([]);
  });

  it('Vendor Central hosts are not on the Login-URI allow-list: amazon_callback_invalid', async () => {
    h = await startHarness({ SELLER_CENTRAL_URL: '' });
    const res = await new CookieClient().get(loginUri(h, { seller: 'A1SANDBOXSELLER1', callback: 'https://vendorcentral.amazon.com/apps/authorize/confirm/x' }));
    expect(res.status).toBe(400);
    expect(res.body).toContain('<code>amazon_callback_invalid</code>');
  });
});

describe('a path-only amazon_callback_uri', () => {
  it("is resolved against the Seller Central origin of the seller's linked region (real hosts)", async () => {
    h = await startHarness();
    await authorizeByWebsite('42', 'US', 'A1SANDBOXSELLER1');
    await authorizeByWebsite('77', 'DE', 'A3SANDBOXSELLER3');
    await h.app.close();
    const real = await startHarness({ SELLER_CENTRAL_URL: '', LOCAL_DB_PATH: String(h.values['LOCAL_DB_PATH']) });
    try {
      for (const [seller, origin] of [
        ['A1SANDBOXSELLER1', 'https://sellercentral.amazon.com'],
        ['A3SANDBOXSELLER3', 'https://sellercentral-europe.amazon.com'],
      ] as const) {
        const url = new URL(`${real.origin}/api/login`);
        url.searchParams.set('amazon_callback_uri', '/apps/authorize/confirm/amzn1.sp.solution.example');
        url.searchParams.set('amazon_state', 'amzn-state-1');
        url.searchParams.set('selling_partner_id', seller);
        const res = await new CookieClient().get(url.toString());
        expect(res.status).toBe(302);
        const to = new URL(res.location ?? '');
        expect(to.origin).toBe(origin);
        expect(to.pathname).toBe('/apps/authorize/confirm/amzn1.sp.solution.example');
        expect(to.searchParams.get('amazon_state')).toBe('amzn-state-1');
      }
    } finally {
      await real.close();
    }
  });

  it('sends the browser on to Seller Central in the sandbox (302 to its NA confirm page)', async () => {
    h = await startHarness();
    await authorizeByWebsite('42');
    const browser = new CookieClient();
    const res = await browser.get(loginUri(h, { seller: 'A1SANDBOXSELLER1', callback: '/apps/authorize/confirm' }));
    expect(res.status).toBe(302);
    expect(res.location?.startsWith(`${sellerCentral()}/na/apps/authorize/confirm?`)).toBe(true);
  });

  it('asks a seller linked in several scopes to start from Shipica, and refuses a path that would leave Amazon', async () => {
    h = await startHarness();
    await authorizeByWebsite('42', 'US', 'A1SANDBOXSELLER1');
    await authorizeByWebsite('42', 'DE', 'A1SANDBOXSELLER1');
    const ambiguous = await new CookieClient().get(loginUri(h, { seller: 'A1SANDBOXSELLER1', callback: '/apps/authorize/confirm' }));
    expect(ambiguous.status).toBe(200);
    expect(ambiguous.body).toContain("which of your Amazon authorizations");
    for (const path of ['//evil.example/apps', '/\\evil.example']) {
      const res = await new CookieClient().get(loginUri(h, { seller: 'A1SANDBOXSELLER1', callback: path }));
      expect(res.status).toBe(400);
    }
  });
});

describe('anonymous Login-URI requests cannot rewrite the record or lock a seller out', () => {
  it("20 anonymous Login-URI calls naming a linked seller leave the customer's own launch link working (302, not 429)", async () => {
    h = await startHarness();
    await authorizeByWebsite('42');
    const anonymous = new CookieClient();
    for (let i = 0; i < 20; i++) expect((await anonymous.get(loginUri(h, { seller: 'A1SANDBOXSELLER1', state: `x${i}` }))).status).toBe(302);
    const seller = new CookieClient();
    expect((await seller.get(h.launchLink('42'))).status).toBe(302);
  });

  // A chosen limit, not a fix: 20 open anonymous attempts (10 minutes each) do block the seller's Re-Authorize from
  // Seller Central, which then gets a page pointing to Shipica, where the signed flow still works (budgets apart).
  it("20 anonymous Login-URI calls naming a seller: the seller's Re-Authorize gets a 429 page pointing to Shipica, whose own link still works", async () => {
    h = await startHarness();
    await authorizeByWebsite('42');
    const anonymous = new CookieClient();
    for (let i = 0; i < 20; i++) expect((await anonymous.get(loginUri(h, { seller: 'A1SANDBOXSELLER1', state: `x${i}` }))).status).toBe(302);
    const blocked = await new CookieClient().get(loginUri(h, { seller: 'A1SANDBOXSELLER1', state: 'the-real-seller' }));
    expect(blocked.status).toBe(429);
    expect(blocked.body).toContain('start again from Shipica');
    expect((await new CookieClient().get(h.launchLink('42'))).status).toBe(302);
  });

  it("one anonymous Login-URI call after a real failure leaves the ops view's last attempt failed (README's 'failed in the last day' still lists it)", async () => {
    h = await startHarness();
    await authorizeByWebsite('42');
    const browser = new CookieClient();
    const callback = await h.approve(browser, '42', { sellingPartnerId: 'A1SANDBOXSELLER1' });
    h.lwa.fail({ status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: 'code expired' }) });
    expect(reasonOf((await browser.get(callback)).body)).toBe('code_rejected');
    const { store } = await h.services();
    expect((await store.listCredentialStatus({ customerId: '42' }, h.clock.now())).map((r) => r.lastAttemptOutcome)).toEqual(['failed']);
    expect((await new CookieClient().get(loginUri(h, { seller: 'A1SANDBOXSELLER1', state: 'anyone' }))).status).toBe(302);
    expect((await store.listCredentialStatus({ customerId: '42' }, h.clock.now())).map((r) => r.lastAttemptOutcome)).toEqual(['failed']);
  });
});

describe('first install from the Appstore', () => {
  it('sends an unknown seller through oxWebApp, whose signed link brings the browser back to Amazon and to authorized', async () => {
    h = await startHarness();
    const browser = new CookieClient();
    const start = await follow(browser, `${h.origin}/sandbox/sellercentral/apps/login-uri?selling_partner_id=A3SANDBOXSELLER3&scope=EU`);
    const identify = new URL(start.hops.at(-1) ?? '');
    expect(identify.pathname).toBe('/start/oxwebapp');
    expect(identify.searchParams.get('selling_partner_id')).toBe('A3SANDBOXSELLER3');
    expect(start.body).toContain('Log in and continue');

    // oxWebApp logs the seller in as customer 77 and signs a launch link carrying Amazon's fields.
    const page = await follow(browser, `${h.origin}/start/oxwebapp/continue?${new URLSearchParams({ ...Object.fromEntries(identify.searchParams), customer_id: '77', marketplace: 'DE' }).toString()}`);
    const link = new URL(page.hops[1] ?? '');
    expect(link.pathname).toBe('/api/authorize');
    expect([...link.searchParams.keys()]).toEqual(['customer_id', 'marketplace', 'expires', 'amazon_callback_uri', 'amazon_state', 'selling_partner_id', 'sig']);
    expect(new URL(page.hops[2] ?? '').pathname).toBe('/sandbox/sellercentral/eu/apps/authorize/confirm');

    const done = await confirm(browser, page);
    expect(done.status).toBe(200);
    const { store } = await h.services();
    expect(await store.findCredential('77', 'EU')).toMatchObject({ status: 'authorized', sellingPartnerId: 'A3SANDBOXSELLER3', marketplace: 'DE' });
    expect((await store.listAttempts({ customerId: '77' })).map((a) => [a.flow, a.outcome])).toEqual([['appstore', 'succeeded']]);
  });

  it('refuses a launch link whose Amazon fields were changed, point elsewhere, or disagree with the marketplace region', async () => {
    h = await startHarness();
    const expires = Math.floor(h.clock.now().getTime() / 1000) + 600;
    const appstore = { amazonCallbackUri: 'https://sellercentral.amazon.com/x', amazonState: 's', sellingPartnerId: 'A3SANDBOXSELLER3' };
    const signed = (fields: Partial<typeof appstore>, marketplace = 'US') =>
      buildLaunchLink(h.origin, { customerId: '77', marketplace, expires, appstore: { ...appstore, ...fields } }, h.secrets.launchLinkSecret);

    const cases: Array<[string, string]> = [
      [withParam(signed({}), 'amazon_callback_uri', 'https://evil.example/x'), 'signature_invalid'],
      [withParam(signed({}), 'amazon_state', undefined), 'link_incomplete'],
      [signed({ amazonCallbackUri: 'https://evil.example/x' }), 'amazon_callback_invalid'],
      [signed({}, 'DE'), 'amazon_callback_invalid'],
      [signed({ sellingPartnerId: 'A3-bad' }), 'appstore_fields_invalid'],
    ];
    for (const [url, reason] of cases) {
      const res = await new CookieClient().get(url);
      expect(res.status, reason).toBe(400);
      expect(res.body).toContain(`<code>${reason}</code>`);
    }
    expect(await (await h.services()).store.listAttempts()).toEqual([]);
    const ok = await new CookieClient().get(signed({}));
    expect(ok.status).toBe(302);
    expect(ok.location).toMatch(/^https:\/\/sellercentral\.amazon\.com\/x\?redirect_uri=/);
  });
});
