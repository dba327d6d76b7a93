import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';

/** Post/redirect/get: the callback's answer is a 303 to a result URL that carries no state and no code. */
let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

async function rawCallback(client: CookieClient, url: string): Promise<Response> {
  const cookie = [...client.jar.values()].map((c) => `${c.name}=${c.value}`).join('; ');
  return fetch(url, { headers: { Cookie: cookie }, redirect: 'manual' });
}

describe('the callback result page', () => {
  it('the callback answers 303 to the callback path with only a result id: no state, no code', async () => {
    const browser = new CookieClient();
    const callback = await h.approve(browser, '42');
    const answer = await rawCallback(browser, callback);
    expect(answer.status).toBe(303);
    const location = new URL(answer.headers.get('location') ?? '', h.origin);
    expect(location.pathname).toBe('/api/lwa-callback');
    expect([...location.searchParams.keys()]).toEqual(['result']);
    const sent = new URL(callback).searchParams;
    for (const secret of [sent.get('state'), sent.get('spapi_oauth_code')]) expect(location.toString()).not.toContain(secret ?? 'missing');
  });

  it('the result URL shows the outcome, again on a reload, without a second exchange', async () => {
    const browser = new CookieClient();
    const done = await browser.get(await h.approve(browser, '42'));
    expect(done.seeOther).toBeDefined();
    expect(done.status).toBe(200);
    expect(done.body).toContain('Shipica is authorized');
    const reload = await browser.get(done.seeOther ?? '');
    expect(reload.status).toBe(200);
    expect(reload.body).toContain('Shipica is authorized');
    expect(h.lwa.received.filter((f) => f.get('grant_type') === 'authorization_code')).toHaveLength(1);
  });

  it('a refusal keeps its status on the result page', async () => {
    const callback = await h.approve(new CookieClient(), '42');
    // Another browser, without the cookie that binds the state: browser_mismatch.
    const page = await new CookieClient().get(callback);
    expect(page.seeOther).toBeDefined();
    expect(page.status).toBe(400);
    expect(page.body).toContain('<code>browser_mismatch</code>');
  });

  it('the result URL opened in another browser shows the neutral already-used page, not the outcome or the seller id', async () => {
    const browser = new CookieClient();
    const done = await browser.get(await h.approve(browser, '42'));
    expect(done.body).toContain('A1SANDBOXSELLER1');
    // A history entry on a shared machine, or a pasted link: the id is a bearer of nothing without the binding cookie.
    const elsewhere = await new CookieClient().get(done.seeOther ?? '');
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.body).toContain('<code>already_used</code>');
    expect(elsewhere.body).not.toContain('A1SANDBOXSELLER1');
    expect(elsewhere.body).not.toContain('Shipica is authorized');
  });

  it('a changed result id gets a 400 page saying what to do, not an outcome', async () => {
    const browser = new CookieClient();
    const done = await browser.get(await h.approve(browser, '42'));
    const changed = new URL(done.seeOther ?? '');
    const id = changed.searchParams.get('result') ?? '';
    changed.searchParams.set('result', `${id.slice(0, 5)}${id[5] === 'A' ? 'B' : 'A'}${id.slice(6)}`);
    const page = await new CookieClient().get(changed.toString());
    expect(page.status).toBe(400);
    expect(page.body).toContain('<code>result_unavailable</code>');
    expect(page.body).not.toContain('Shipica is authorized');
  });
});

describe('with AUTH_RESULT_URL', () => {
  it('the callback still redirects there, with status and marketplace, and no result id', async () => {
    await h.close();
    h = await startHarness({ AUTH_RESULT_URL: 'https://app.shipica.example/amazon/result' });
    const browser = new CookieClient();
    const answer = await browser.get(await h.approve(browser, '42'));
    expect(answer.status).toBe(302);
    expect(answer.location).toBe('https://app.shipica.example/amazon/result?status=authorized&marketplace=US');
  });
});
