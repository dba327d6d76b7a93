import { afterEach, describe, expect, it } from 'vitest';
import { CookieClient } from '../support/cookieClient.js';
import { startHarness, type Harness } from '../support/harness.js';

/**
 * Issue 7 attacked as a stranger would: each case here broke the branch's promises before its fix (see the commit
 * that adds it). Through the local host, on SQLite, with the loopback LWA.
 */
let h: Harness;
afterEach(async () => {
  await h?.close();
});

const api = new CookieClient();
const row = async (customer: string) => (await h.services()).store.findCredential(customer, 'NA');
const sellerToken = (seller: string) => api.request(`${h.origin}/api/sellers/${seller}/access-token?region=NA`, { method: 'POST' });
const exchanges = () => h.lwa.received.filter((f) => f.get('grant_type') === 'authorization_code').length;
const reasonOf = (body: string) => /Reason: <code>([^<]+)<\/code>/.exec(body)?.[1];

function loginUri(seller: string, amazonState: string): string {
  const url = new URL(`${h.origin}/api/login`);
  url.searchParams.set('amazon_callback_uri', `${h.origin}/sandbox/sellercentral/na/apps/authorize/confirm`);
  url.searchParams.set('amazon_state', amazonState);
  url.searchParams.set('selling_partner_id', seller);
  return url.toString();
}

async function authorize(customer: string, sellingPartnerId: string): Promise<void> {
  const browser = new CookieClient();
  expect((await browser.get(await h.approve(browser, customer, { sellingPartnerId }))).status).toBe(200);
}

describe('switching sellers stays explicit under concurrency', () => {
  it('two website callbacks of one customer bringing two sellers at once: the first stored keeps its token, the other is refused as partner_changed', async () => {
    // A slow machine must not turn a held exchange into a timeout.
    h = await startHarness({ LWA_EXCHANGE_TIMEOUT_MS: '5000' });
    const first = new CookieClient();
    const second = new CookieClient();
    const callbackA1 = await h.approve(first, '42', { sellingPartnerId: 'A1SANDBOXSELLER1' });
    const callbackA2 = await h.approve(second, '42', { sellingPartnerId: 'A2SANDBOXSELLER2' });
    // Both pass the partner check while the row is still pending: LWA answers neither exchange before it has both.
    // The first exchange LWA got then finishes first; the other is answered once that callback has been answered.
    let bothAsked = (): void => undefined;
    let oneAnswered = (): void => undefined;
    h.lwa.fail({ heldUntil: new Promise<void>((resolve) => (bothAsked = resolve)) }, { heldUntil: new Promise<void>((resolve) => (oneAnswered = resolve)) });
    const answerA1 = first.get(callbackA1).finally(() => oneAnswered());
    const answerA2 = second.get(callbackA2).finally(() => oneAnswered());
    while (exchanges() < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    bothAsked();
    const [resA1, resA2] = await Promise.all([answerA1, answerA2]);
    expect(exchanges()).toBe(2);

    const results = [
      { seller: 'A1SANDBOXSELLER1', res: resA1 },
      { seller: 'A2SANDBOXSELLER2', res: resA2 },
    ];
    const winner = results.find((r) => r.res.status === 200);
    const loser = results.find((r) => r.res.status !== 200);
    expect(winner).toBeDefined();
    expect([loser?.res.status, reasonOf(loser?.res.body ?? '')]).toEqual([409, 'partner_changed']);
    const stored = await row('42');
    expect([stored?.status, stored?.sellingPartnerId]).toEqual(['authorized', winner?.seller]);
    expect((await sellerToken(winner?.seller ?? '')).status).toBe(200);
  });
});

describe('anonymous Login-URI requests cannot lock a seller out', () => {
  it("20 anonymous Login-URI calls naming a linked seller leave the customer's own launch link working (302, not 429)", async () => {
    h = await startHarness();
    await authorize('42', 'A1SANDBOXSELLER1');
    const anonymous = new CookieClient();
    for (let i = 0; i < 20; i++) expect((await anonymous.get(loginUri('A1SANDBOXSELLER1', `x${i}`))).status).toBe(302);
    const seller = new CookieClient();
    expect((await seller.get(h.launchLink('42'))).status).toBe(302);
  });
});

describe('pages say what happened', () => {
  it('reloading the partner_changed page still says the other seller was not connected, never "you are done"', async () => {
    h = await startHarness();
    await authorize('42', 'A1SANDBOXSELLER1');
    const browser = new CookieClient();
    const callback = await h.approve(browser, '42', { sellingPartnerId: 'A2SANDBOXSELLER2' });
    expect((await browser.get(callback)).status).toBe(409);
    const reload = await browser.get(callback);
    expect([reload.status, reasonOf(reload.body)]).toEqual([409, 'partner_changed']);
    expect(reload.body).not.toContain('you are done');
    expect(reload.body).toContain('different Amazon seller account');
  });
});

describe('the anonymous Login URI cannot rewrite or block the record', () => {
  // A chosen limit, not a fix: 20 open anonymous attempts (10 minutes each) do block the seller's Re-Authorize from
  // Seller Central, which then gets a page pointing to Shipica, where the signed flow still works (budgets apart).
  it("20 anonymous Login-URI calls naming a seller: the seller's Re-Authorize gets a 429 page pointing to Shipica, whose own link still works", async () => {
    h = await startHarness();
    await authorize('42', 'A1SANDBOXSELLER1');
    const anonymous = new CookieClient();
    for (let i = 0; i < 20; i++) expect((await anonymous.get(loginUri('A1SANDBOXSELLER1', `x${i}`))).status).toBe(302);
    const blocked = await new CookieClient().get(loginUri('A1SANDBOXSELLER1', 'the-real-seller'));
    expect(blocked.status).toBe(429);
    expect(blocked.body).toContain('start again from Shipica');
    expect((await new CookieClient().get(h.launchLink('42'))).status).toBe(302);
  });

  it("one anonymous Login-URI call after a real failure leaves the ops view's last attempt failed (README's 'failed in the last day' still lists it)", async () => {
    h = await startHarness();
    await authorize('42', 'A1SANDBOXSELLER1');
    const browser = new CookieClient();
    const callback = await h.approve(browser, '42', { sellingPartnerId: 'A1SANDBOXSELLER1' });
    h.lwa.fail({ status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: 'code expired' }) });
    expect(reasonOf((await browser.get(callback)).body)).toBe('code_rejected');
    const { store } = await h.services();
    expect((await store.listCredentialStatus({ customerId: '42' }, h.clock.now())).map((r) => r.lastAttemptOutcome)).toEqual(['failed']);
    expect((await new CookieClient().get(loginUri('A1SANDBOXSELLER1', 'anyone'))).status).toBe(302);
    expect((await store.listCredentialStatus({ customerId: '42' }, h.clock.now())).map((r) => r.lastAttemptOutcome)).toEqual(['failed']);
  });
});
