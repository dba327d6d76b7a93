import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyLaunchLink } from '../../../src/authorization/launchLink.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, withParam, type Harness } from '../../support/harness.js';

/** The local-only pages: sandbox Seller Central as Amazon behaves, and the start page (launch links, tokens, Revoke). */
let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

describe('sandbox Seller Central', () => {
  async function consentUrl(client: CookieClient): Promise<string> {
    const start = await client.get(h.launchLink('42'));
    return start.location ?? '';
  }
  const consentId = (body: string) => /name="consent" value="([^"]+)"/.exec(body)?.[1] ?? '';

  it('Cancel shows a page and never calls back, as Amazon does', async () => {
    const client = new CookieClient();
    const consent = await client.get(await consentUrl(client));
    expect(consent.body).not.toContain(new URL(await consentUrl(new CookieClient())).searchParams.get('state'));
    const cancelled = await client.postForm(`${h.origin}/sandbox/sellercentral/apps/authorize/decide`, { consent: consentId(consent.body), decision: 'cancel' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.location).toBeUndefined();
    expect(cancelled.body).toContain('You did not authorize Shipica');
    expect(h.lwa.received).toHaveLength(0);
    const { store } = await h.services();
    expect((await store.findCredential('42', 'NA'))?.status).toBe('pending');

    // The consent request is answered once.
    const again = await client.postForm(`${h.origin}/sandbox/sellercentral/apps/authorize/decide`, { consent: consentId(consent.body), decision: 'confirm' });
    expect(again.status).toBe(400);
    expect(again.location).toBeUndefined();
  });

  it.each([
    ['an unknown application_id', (u: string) => withParam(u, 'application_id', 'amzn1.sp.solution.other'), 'MD1000'],
    ['an unregistered redirect_uri', (u: string) => withParam(u, 'redirect_uri', 'https://evil.example/cb'), 'MD5101'],
    ['version=beta for a published app', (u: string) => withParam(u, 'version', 'beta'), 'MD9100'],
    ['no state', (u: string) => withParam(u, 'state', undefined), 'MD9000'],
  ])('refuses %s with Amazon’s error code', async (_name, mangle, code) => {
    const client = new CookieClient();
    const res = await client.get(mangle(await consentUrl(client)));
    expect(res.status).toBe(400);
    expect(res.body).toContain(`<code>${code}</code>`);
  });

  it('sends the chosen selling account back to the callback', async () => {
    const callback = await h.approve(new CookieClient(), '42', { sellingPartnerId: 'A3SANDBOXSELLER3' });
    expect(new URL(callback).searchParams.get('selling_partner_id')).toBe('A3SANDBOXSELLER3');
    expect(new URL(callback).searchParams.get('spapi_oauth_code')).toMatch(/^AN[A-Za-z0-9_-]{20}$/);
  });
});

describe('start page', () => {
  it('signs a fresh launch link on click and lists rows by status, never tokens', async () => {
    const client = new CookieClient();
    const launch = await client.get(`${h.origin}/start/launch?customer_id=77&marketplace=JP`);
    expect(launch.status).toBe(302);
    const link = new URL(launch.location ?? '');
    expect(link.pathname).toBe('/api/authorize');
    expect(verifyLaunchLink(link.searchParams, h.secrets.launchLinkSecret, Math.floor(Date.now() / 1000)).ok).toBe(true);

    await client.get(await h.approve(client, '77', { marketplace: 'JP' }));
    const page = await client.get(`${h.origin}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(
      '<td data-label="customer_id">77</td><td data-label="scope">JP</td><td data-label="marketplace">JP</td><td data-label="selling_partner_id">A1SANDBOXSELLER1</td><td data-label="status">authorized</td>',
    );
    expect(page.body).toContain('Authorize Shipica');
    const { store } = await h.services();
    const row = await store.findCredential('77', 'JP');
    expect(row?.lwaRefreshToken).toBeTruthy();
    expect(page.body).not.toContain(row?.lwaRefreshToken ?? 'missing');
    expect(page.body).not.toContain('Atzr|');
    expect(page.body).not.toContain('v1:test1:');
  });
});

describe('start page: access tokens and sandbox revocation', () => {
  it('shows only the last 4 characters of a token, and after Revoke at Amazon the next token request that reaches LWA turns the row revoked while others stay authorized', async () => {
    const browser = new CookieClient();
    await browser.get(await h.approve(browser, 'alpha', { sellingPartnerId: 'A1SANDBOXSELLER1' }));
    await browser.get(await h.approve(browser, 'beta', { sellingPartnerId: 'A2SANDBOXSELLER2' }));

    const issued = await browser.postForm(`${h.origin}/start/access-token`, { customer_id: 'alpha', scope: 'NA' });
    expect(issued.status).toBe(200);
    const { tokenCache, store } = await h.services();
    const token = tokenCache.get('alpha', 'NA')?.accessToken ?? 'missing';
    expect(issued.body).toContain(`…${token.slice(-4)}`);
    expect(issued.body).not.toContain(token.slice(0, 12));

    const revoked = await browser.postForm(`${h.origin}/start/revoke`, { customer_id: 'alpha', scope: 'NA' });
    expect(revoked.status).toBe(302);
    // Revoking changes only Amazon (README): the row learns it from the next token request.
    expect((await store.listCredentials()).map((r) => [r.customerId, r.status]).sort()).toEqual([['alpha', 'authorized'], ['beta', 'authorized']]);
    // The button drops this process's cached token; the one the fleet shares (sp_api_access_tokens, written with the
    // grant) is served until it runs low (docs/contributing.md): the first request that then reaches LWA learns it.
    expect((await browser.postForm(`${h.origin}/start/access-token`, { customer_id: 'alpha', scope: 'NA' })).status).toBe(200);
    expect((await store.listCredentials()).map((r) => [r.customerId, r.status]).sort()).toEqual([['alpha', 'authorized'], ['beta', 'authorized']]);
    h.clock.advance(3_600_000);
    const refused = await browser.postForm(`${h.origin}/start/access-token`, { customer_id: 'alpha', scope: 'NA' });
    expect(refused.body).toContain('authorization_revoked');
    expect((await store.listCredentials()).map((r) => [r.customerId, r.status]).sort()).toEqual([['alpha', 'revoked'], ['beta', 'authorized']]);
    const page = await browser.get(`${h.origin}/`);
    expect(page.body).toContain('<td data-label="status">revoked</td>');
  });
});

it('serves nothing else: unknown paths are 404, a known path with another method 405', async () => {
  const client = new CookieClient();
  expect((await client.get(`${h.origin}/api/nope`)).status).toBe(404);
  expect((await client.postForm(`${h.origin}/api/authorize`, {})).status).toBe(405);
});
