import { beforeEach, describe, expect, it } from 'vitest';
import type { Page, Request } from 'playwright-core';
import { buildLaunchLink } from '../../src/authorization/launchLink.js';
import type { Harness } from '../support/harness.js';
import { browserCases, CHROMIUM_PATH, clickAndLand, findChromium, screenshot, SKIP_LINE, visibleText } from './browser.js';

/**
 * The seller's journeys in a real browser: Debian's Chromium driven by playwright-core against the whole service on
 * loopback (local host, sandbox Seller Central, start page, loopback LWA). One browser for the file, a fresh
 * context and a fresh harness per case. Without Chromium a developer's run skips with one line; CI fails.
 */
const found = await findChromium();
const inCi = process.env['CI'] === 'true';
if (!found.ok && !inCi) console.log(SKIP_LINE);

if (!found.ok && inCi) {
  // CI installs Chromium (.ci/run): a missing browser there is a broken machine, not a reason to skip.
  describe('real-browser suite (CI)', () => {
    it('needs Chromium', () => {
      throw new Error(`Browser suite cannot run in CI: ${found.why} (apt-get install -y chromium).`);
    });
  });
}

describe.skipIf(!found.ok)(`real browser (${CHROMIUM_PATH})`, () => {
  const cases = browserCases(found.ok ? found.chromium : undefined);
  let h: Harness;
  beforeEach(() => {
    h = cases.harness();
  });
  const open = cases.open;
  const codeRequests = () => h.lwa.received.filter((f) => f.get('grant_type') === 'authorization_code').length;
  const consentPath = '/sandbox/sellercentral/apps/authorize/consent';
  const manageApps = () => `${h.origin}/sandbox/sellercentral/apps/manage`;

  /** The start page's form (playing oxWebApp's button) → the sandbox consent page. */
  async function startOnWebsite(page: Page, customerId: string, marketplace: string): Promise<void> {
    await page.goto(`${h.origin}/`);
    expect(await page.locator('h1').innerText()).toBe('Shipica seller authorization');
    await page.locator('input[name=customer_id]').fill(customerId);
    await page.locator('select[name=marketplace]').selectOption(marketplace);
    const consent = await clickAndLand(page, page.getByRole('button', { name: 'Authorize Shipica' }), consentPath);
    expect(consent.status()).toBe(200);
    expect(await page.locator('h1').innerText()).toBe('Authorize Shipica');
    expect(await visibleText(page)).toContain('Shipica is asking for access to your Amazon selling account');
  }

  /**
   * Confirm on a consent page → the callback (a 303, post/redirect/get) → the result page. Returns the result page's
   * status and text, and the callback URL Amazon sent the browser to (which never becomes the page's URL).
   */
  async function confirm(page: Page): Promise<{ status: number; text: string; callbackUrl: string }> {
    const callbacks: string[] = [];
    const onRequest = (r: Request) => {
      if (r.isNavigationRequest() && r.frame() === page.mainFrame() && new URL(r.url()).searchParams.has('spapi_oauth_code')) callbacks.push(r.url());
    };
    page.on('request', onRequest);
    const isResult = (url: URL) => url.pathname === '/api/lwa-callback' && url.searchParams.has('result');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().isNavigationRequest() && r.request().frame() === page.mainFrame() && isResult(new URL(r.url()))),
      page.locator('button[value=confirm]').click(),
    ]);
    await page.waitForURL(isResult, { waitUntil: 'load' });
    page.off('request', onRequest);
    return { status: response.status(), text: await visibleText(page), callbackUrl: callbacks[0] ?? '' };
  }

  /** The page needs no horizontal scrolling at its current viewport width. */
  async function fitsWidth(page: Page): Promise<{ scrollWidth: number; innerWidth: number }> {
    // A string, run in the page: this project's TypeScript has no DOM types.
    return (await page.evaluate('({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })')) as { scrollWidth: number; innerWidth: number };
  }

  /** Customer 42, US, seller A1SANDBOXSELLER1, through the website workflow. */
  async function authorizeOnWebsite(page: Page): Promise<{ status: number; text: string; callbackUrl: string }> {
    await startOnWebsite(page, '42', 'US');
    await page.locator('select[name=selling_partner_id]').selectOption('A1SANDBOXSELLER1');
    return confirm(page);
  }

  it('website workflow: Authorize → Confirm → authorized page, and the row is authorized', async () => {
    const { context, page } = await open();
    await startOnWebsite(page, '42', 'UK');
    const sellers = await page.locator('select[name=selling_partner_id] option').allInnerTexts();
    expect(sellers).toEqual(['Sandbox Seller One (A1SANDBOXSELLER1)', 'Sandbox Seller Two (A2SANDBOXSELLER2)', 'Sandbox Seller Three (A3SANDBOXSELLER3)']);
    await page.locator('select[name=selling_partner_id]').selectOption('A2SANDBOXSELLER2');

    const done = await confirm(page);
    expect(done.status).toBe(200);
    expect(await page.locator('h1').innerText()).toBe('Shipica is authorized');
    expect(done.text).toContain('Shipica can now work with your Amazon seller account A2SANDBOXSELLER2 in Europe.');
    expect(await page.title()).toContain('Shipica is authorized');
    expect(codeRequests()).toBe(1);

    const { store } = await h.services();
    expect(await store.findCredential('42', 'EU')).toMatchObject({ status: 'authorized', sellingPartnerId: 'A2SANDBOXSELLER2', marketplace: 'UK', lastError: null });
    expect((await store.listAttempts({ customerId: '42' })).map((a) => [a.flow, a.outcome])).toEqual([['website', 'succeeded']]);

    // The start page's ops view, in another tab of the same browser, shows the row.
    const ops = await context.newPage();
    await ops.goto(`${h.origin}/`);
    const row = ops.locator('tbody tr', { hasText: 'A2SANDBOXSELLER2' });
    const cells = await row.locator('td').allInnerTexts();
    expect(cells.slice(0, 5)).toEqual(['42', 'EU', 'UK', 'A2SANDBOXSELLER2', 'authorized']);
    expect(['364', '365']).toContain(cells[7]); // days left
    expect(cells[8]).toBe('succeeded');
    await ops.close();

    await screenshot(page, 'website-happy-path');
  });

  it('Cancel on the consent page: the cancelled page, no callback, the row stays pending', async () => {
    const { page } = await open();
    await startOnWebsite(page, '42', 'US');
    const decided = await clickAndLand(page, page.locator('button[value=cancel]'), '/sandbox/sellercentral/apps/authorize/decide');
    expect(decided.status()).toBe(200);
    expect(await page.locator('h1').innerText()).toBe('Authorization cancelled');
    expect(await visibleText(page)).toContain('You did not authorize Shipica. Nothing was shared.');

    expect(h.lwa.received).toHaveLength(0);
    const { store } = await h.services();
    expect(await store.findCredential('42', 'NA')).toMatchObject({ status: 'pending', sellingPartnerId: null, lwaRefreshToken: null });
    expect((await store.listAttempts({ customerId: '42' })).map((a) => [a.flow, a.outcome])).toEqual([['website', 'pending']]);

    await screenshot(page, 'consent-cancelled');
  });

  it('re-authorization from Manage Your Apps: Re-Authorize → Confirm → authorized, a new refresh token', async () => {
    const { page } = await open();
    expect((await authorizeOnWebsite(page)).status).toBe(200);
    const { store } = await h.services();
    const before = await store.findCredential('42', 'NA');
    expect(before?.status).toBe('authorized');
    h.clock.advance(300 * 86_400_000);

    await page.goto(manageApps());
    expect(await page.locator('h1').innerText()).toBe('Manage Your Apps');
    const row = page.locator('tbody tr', { hasText: 'A1SANDBOXSELLER1' });
    expect(await row.locator('td').allInnerTexts()).toEqual(['A1SANDBOXSELLER1', 'North America', 'authorized', 'Re-Authorize']);
    // Amazon → Login URI (AppstoreLogin) → Amazon's confirm page at amazon_callback_uri, naming the seller.
    const confirmPage = await clickAndLand(page, row.getByRole('button', { name: 'Re-Authorize' }), '/sandbox/sellercentral/na/apps/authorize/confirm');
    expect(confirmPage.status()).toBe(200);
    expect(await page.locator('h1').innerText()).toBe('Authorize Shipica');
    expect(await visibleText(page)).toContain('Selling account A1SANDBOXSELLER1');
    expect(await page.locator('select[name=selling_partner_id]').count()).toBe(0);

    const done = await confirm(page);
    expect(done.status).toBe(200);
    expect(done.text).toContain('Shipica is authorized');
    expect(done.text).toContain('A1SANDBOXSELLER1 in North America.');
    expect(codeRequests()).toBe(2);

    const after = await store.findCredential('42', 'NA');
    expect(after).toMatchObject({ status: 'authorized', sellingPartnerId: 'A1SANDBOXSELLER1', lastError: null });
    expect(after?.lwaRefreshToken).toMatch(/^v1:test1:/);
    expect(after?.lwaRefreshToken).not.toBe(before?.lwaRefreshToken);
    expect(after?.authGrantedDate?.getTime()).toBeGreaterThan((before?.authGrantedDate?.getTime() ?? 0) + 299 * 86_400_000);
    const attempts = await store.listAttempts({ customerId: '42' });
    expect(attempts.map((a) => [a.flow, a.outcome])).toEqual([
      ['website', 'succeeded'],
      ['reauthorize', 'succeeded'],
    ]);

    await screenshot(page, 'reauthorize-manage-your-apps');
  });

  it('first Appstore install: Authorize now → oxWebApp (its signed launch link) → Confirm → authorized', async () => {
    const { page } = await open();
    await page.goto(manageApps());
    expect(await visibleText(page)).toContain('No authorized apps yet.');
    await page.locator('select[name=selling_partner_id]').selectOption('A3SANDBOXSELLER3');
    await page.locator('select[name=scope]').selectOption('EU');
    // Amazon → Login URI → an unknown seller goes to oxWebApp (OXWEBAPP_LINK_URL) to log in.
    const identify = await clickAndLand(page, page.getByRole('button', { name: 'Authorize now' }), '/start/oxwebapp');
    expect(identify.status()).toBe(200);
    expect(await visibleText(page)).toContain('Amazon seller A3SANDBOXSELLER3 is installing Shipica from the Appstore (EU).');
    expect(await page.getByRole('button', { name: 'Log in and continue' }).isVisible()).toBe(true);

    // Play oxWebApp: customer 77 logged in; sign a launch link carrying what Amazon sent to the Login URI.
    const amazon = new URL(page.url()).searchParams;
    expect(amazon.get('selling_partner_id')).toBe('A3SANDBOXSELLER3');
    const link = buildLaunchLink(
      h.origin,
      {
        customerId: '77',
        marketplace: 'DE',
        expires: Math.floor(h.clock.now().getTime() / 1000) + 600,
        appstore: {
          amazonCallbackUri: amazon.get('amazon_callback_uri') ?? '',
          amazonState: amazon.get('amazon_state') ?? '',
          sellingPartnerId: amazon.get('selling_partner_id') ?? '',
          version: amazon.get('version') ?? undefined,
        },
      },
      h.secrets.launchLinkSecret,
    );
    expect(new URL(link).origin).toBe(h.origin);
    const consent = await page.goto(link);
    expect(consent?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/sandbox/sellercentral/eu/apps/authorize/confirm');
    expect(await visibleText(page)).toContain('Selling account A3SANDBOXSELLER3');

    const done = await confirm(page);
    expect(done.status).toBe(200);
    expect(await page.locator('h1').innerText()).toBe('Shipica is authorized');
    expect(done.text).toContain('A3SANDBOXSELLER3 in Europe.');

    const { store } = await h.services();
    expect(await store.findCredential('77', 'EU')).toMatchObject({ status: 'authorized', sellingPartnerId: 'A3SANDBOXSELLER3', marketplace: 'DE' });
    expect((await store.listAttempts({ customerId: '77' })).map((a) => [a.flow, a.outcome])).toEqual([['appstore', 'succeeded']]);
    expect(codeRequests()).toBe(1);

    await screenshot(page, 'appstore-first-install');
  });

  it('a callback replayed in a second browser context (no cookie) gets a neutral "already used" page, no second exchange', async () => {
    const a = await open();
    const first = await authorizeOnWebsite(a.page);
    expect(first.status).toBe(200);
    const callback = first.callbackUrl;
    expect(new URL(callback).pathname).toBe('/api/lwa-callback');
    expect(codeRequests()).toBe(1);
    const { store } = await h.services();
    const before = await store.findCredential('42', 'NA');

    const b = await open();
    await b.page.goto(callback);
    expect(new URL(b.page.url()).searchParams.has('result')).toBe(true);
    expect(await b.page.locator('h1').innerText()).toBe('This authorization link was already used');
    const text = await visibleText(b.page);
    expect(text).toContain('If you finished authorizing Shipica, there is nothing more to do.');
    expect(await b.page.locator('h1.err').count()).toBe(0);

    expect(codeRequests()).toBe(1);
    expect(await store.findCredential('42', 'NA')).toEqual(before);
    expect((await store.listAttempts()).filter((x) => x.flow === 'callback').map((x) => x.reason)).toEqual(['state_replayed']);

    // Back + Confirm in the first browser (Amazon issues a new code for the same state): the success page again.
    await a.page.goBack();
    const again = await confirm(a.page);
    expect(again.status).toBe(200);
    expect(await a.page.locator('h1').innerText()).toBe('Shipica is authorized');
    expect(codeRequests()).toBe(1);
    const [status] = await store.listCredentialStatus({ customerId: '42' }, new Date());
    expect([status?.status, status?.lastAttemptOutcome]).toEqual(['authorized', 'succeeded']);
    await screenshot(b.page, 'callback-replay-other-browser');
  });
  it('after Confirm the address bar holds a result URL with no state and no code, and Back skips the callback', async () => {
    const { page } = await open();
    const done = await authorizeOnWebsite(page);
    expect(done.status).toBe(200);
    const landed = new URL(page.url());
    expect(landed.pathname).toBe('/api/lwa-callback');
    expect([...landed.searchParams.keys()]).toEqual(['result']);
    const state = new URL(done.callbackUrl).searchParams.get('state') ?? 'missing';
    const code = new URL(done.callbackUrl).searchParams.get('spapi_oauth_code') ?? 'missing';
    expect(page.url()).not.toContain(state);
    expect(page.url()).not.toContain(code);
    // The callback URL was answered with a redirect, so it is no history entry: Back lands on the consent page.
    await page.goBack();
    expect(new URL(page.url()).pathname).toBe(consentPath);
  });

  it('the result URL reloads as "Shipica is authorized" in its browser and shows the neutral already-used page in another', async () => {
    const a = await open();
    expect((await authorizeOnWebsite(a.page)).status).toBe(200);
    const resultUrl = a.page.url();
    await a.page.reload();
    expect(await a.page.locator('h1').innerText()).toBe('Shipica is authorized');

    const b = await open();
    await b.page.goto(resultUrl);
    expect(await b.page.locator('h1').innerText()).toBe('This authorization link was already used');
    expect(await visibleText(b.page)).not.toContain('A1SANDBOXSELLER1');
  });

  for (const width of [375, 1280]) {
    it(`every page fits ${width} px without horizontal scrolling, a long Amazon error included`, async () => {
      const { page } = await open();
      await page.setViewportSize({ width, height: 900 });
      const seen: Array<[string, number, number]> = [];
      const check = async (name: string) => {
        const { scrollWidth, innerWidth } = await fitsWidth(page);
        seen.push([name, scrollWidth, innerWidth]);
      };

      await startOnWebsite(page, 'customer-with-a-rather-long-identifier-0042', 'US');
      await check('consent page');
      await page.locator('select[name=selling_partner_id]').selectOption('A1SANDBOXSELLER1');
      expect((await confirm(page)).status).toBe(200);
      await check('result page');

      // Amazon's own text in last_error: revoke at the sandbox Amazon, then ask for a token (README's way).
      const form = (fields: Record<string, string>) => ({ method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(), redirect: 'manual' as const });
      await fetch(`${h.origin}/start/revoke`, form({ customer_id: 'customer-with-a-rather-long-identifier-0042', scope: 'NA' }));
      // Past the token the fleet shares (written with the grant, served until it runs low): the next request asks LWA.
      h.clock.advance(3_600_000);
      await page.goto(`${h.origin}/`);
      await page.locator('tbody tr').first().getByRole('button', { name: 'Get access token' }).click();
      await page.waitForLoadState('load');
      await check('access-token page');
      await page.goto(`${h.origin}/`);
      expect(await visibleText(page)).toContain('revoked');
      await check('start page with a long last_error');
      const longError = page.locator('details.long').first();
      expect(await longError.getAttribute('title')).toContain('User may have revoked');
      await longError.locator('summary').click();
      await check('start page, error expanded');

      await page.goto(manageApps());
      await check('Manage Your Apps');
      await page.goto(`${h.origin}/sandbox/sellercentral/apps/authorize/consent?application_id=wrong`);
      await check('sandbox Amazon error page');
      await page.goto(`${h.origin}/start/oxwebapp?amazon_callback_uri=${encodeURIComponent(`${h.origin}/sandbox/sellercentral/eu/apps/authorize/confirm`)}&amazon_state=x&selling_partner_id=A3SANDBOXSELLER3`);
      await check('oxWebApp stand-in');
      await page.goto(`${h.origin}/api/lwa-callback?result=not-a-result`);
      await check('expired result page');

      await screenshot(page, `widths-${width}`);
      expect(seen.filter(([, scrollWidth, innerWidth]) => scrollWidth > innerWidth)).toEqual([]);
      // Dates stay on one line.
      if (width === 1280) {
        await page.goto(`${h.origin}/`);
        expect(await page.evaluate(`getComputedStyle(document.querySelector('td[data-label="granted"]')).whiteSpace`)).toBe('nowrap');
      }
    });
  }
});
