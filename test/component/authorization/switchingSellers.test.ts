import { afterEach, describe, expect, it } from 'vitest';
import { opsCommand } from '../../../src/cli/ops.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { authorizeOnWebsite, codeExchanges, credentialRow, until } from '../../support/steps.js';

/**
 * Switching a customer to another Amazon seller is explicit: a callback bringing another seller is refused as
 * partner_changed, keeping the stored seller and its token (also when two sellers' callbacks arrive at once), its page
 * says so on every reload, and only a confirmed `npm run ops -- unlink` lets the new seller in. Through the local
 * host, on SQLite, with the loopback LWA.
 */
let h: Harness;
afterEach(async () => {
  await h?.close();
});

const api = new CookieClient();
const authorize = (customer: string, sellingPartnerId?: string) => authorizeOnWebsite(h, customer, sellingPartnerId);
const row = (customer: string) => credentialRow(h, customer);
const exchanges = () => codeExchanges(h);
const sellerToken = (seller: string) => api.request(`${h.origin}/api/sellers/${seller}/access-token?region=NA`, { method: 'POST' });
const reasonOf = (body: string) => /Reason: <code>([^<]+)<\/code>/.exec(body)?.[1];

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe('a callback bringing another seller than the one stored', () => {
  it('is refused as partner_changed with no exchange, keeping the seller and its token; after ops unlink the new seller authorizes', async () => {
    h = await startHarness();
    await authorize('42', 'A1SANDBOXSELLER1');
    const before = await row('42');
    const exchangesBefore = exchanges();

    const browser = new CookieClient();
    const res = await browser.get(await h.approve(browser, '42', { sellingPartnerId: 'A2SANDBOXSELLER2' }));
    expect(res.status).toBe(409);
    expect(res.body).toContain('<code>partner_changed</code>');
    expect(res.body).toContain('…LER1');
    expect(res.body).toContain('…LER2');
    expect(res.body).toContain('unlink');
    expect(exchanges()).toBe(exchangesBefore);
    const kept = await row('42');
    expect([kept?.status, kept?.sellingPartnerId, kept?.lwaRefreshToken]).toEqual(['authorized', 'A1SANDBOXSELLER1', before?.lwaRefreshToken]);
    expect(kept?.lastError).toBe('partner_changed');
    expect((await api.request(`${h.origin}/api/sellers/A1SANDBOXSELLER1/access-token?region=NA`, { method: 'POST' })).status).toBe(200);

    // Ops unlinks (confirming at the prompt), then the customer authorizes the new seller.
    const printed: string[] = [];
    const asked: string[] = [];
    const code = await opsCommand(['unlink', '--customer', '42', '--region', 'NA'], h.values, h.clock.now(), (l) => printed.push(l), async (q) => {
      asked.push(q);
      return true;
    });
    expect(code).toBe(0);
    expect(asked).toHaveLength(1);
    expect(printed.join('\n')).toContain('unlinked customer 42 in NA (was seller A1SANDBOXSELLER1, authorized)');
    expect((await row('42'))?.status).toBe('unlinked');
    // This process has not seen the CLI's change yet; the recheck bound makes it visible.
    h.clock.advance(61_000);
    expect((await api.request(`${h.origin}/api/sellers/A1SANDBOXSELLER1/access-token?region=NA`, { method: 'POST' })).status).toBe(404);

    await authorize('42', 'A2SANDBOXSELLER2');
    const now = await row('42');
    expect([now?.status, now?.sellingPartnerId]).toEqual(['authorized', 'A2SANDBOXSELLER2']);
    const { store } = await h.services();
    expect((await store.listAttempts({ customerId: '42' })).map((a) => [a.flow, a.outcome, a.reason])).toEqual([
      ['website', 'succeeded', null],
      ['website', 'failed', 'partner_changed'],
      ['ops', 'succeeded', 'unlinked'],
      ['website', 'succeeded', null],
    ]);
  });

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

describe('two callbacks of one customer bringing two sellers at once', () => {
  // A callback claims the row's seller (in its scope) until its exchange's deadline, in the write that spends the
  // state: the other callback, checked while that exchange is in flight, is refused before it spends its code.
  it('whichever is accepted first keeps the row and its token; the other is refused as partner_changed without an exchange', async () => {
    // A slow machine must not turn a held exchange into a timeout.
    h = await startHarness({ LWA_EXCHANGE_TIMEOUT_MS: '5000' });
    const first = new CookieClient();
    const second = new CookieClient();
    const callbackA1 = await h.approve(first, '42', { sellingPartnerId: 'A1SANDBOXSELLER1' });
    const callbackA2 = await h.approve(second, '42', { sellingPartnerId: 'A2SANDBOXSELLER2' });
    // LWA holds the first exchange it gets until the other callback has been answered.
    const otherAnswered = deferred();
    h.lwa.fail({ heldUntil: otherAnswered.promise });
    const pages = [
      { seller: 'A1SANDBOXSELLER1', code: new URL(callbackA1).searchParams.get('spapi_oauth_code'), page: first.get(callbackA1) },
      { seller: 'A2SANDBOXSELLER2', code: new URL(callbackA2).searchParams.get('spapi_oauth_code'), page: second.get(callbackA2) },
    ];
    await until(() => exchanges() === 1);
    const exchangedCode = h.lwa.received.find((f) => f.get('grant_type') === 'authorization_code')?.get('code');
    const winner = pages.find((p) => p.code === exchangedCode);
    const loser = pages.find((p) => p.code !== exchangedCode);
    expect(winner).toBeDefined();
    const refused = await (loser?.page ?? Promise.reject(new Error('no loser')));
    expect([refused.status, reasonOf(refused.body)]).toEqual([409, 'partner_changed']);
    expect(exchanges()).toBe(1);
    otherAnswered.resolve();
    expect((await (winner?.page ?? Promise.reject(new Error('no winner')))).status).toBe(200);
    expect(exchanges()).toBe(1);

    const stored = await row('42');
    expect([stored?.status, stored?.sellingPartnerId]).toEqual(['authorized', winner?.seller]);
    expect((await sellerToken(winner?.seller ?? '')).status).toBe(200);
    expect((await sellerToken(loser?.seller ?? '')).status).toBe(404);
  });

  it("with A1's callback first: only A1 ends up stored, only one page says authorized, and A2's code is never sent", async () => {
    h = await startHarness({ LWA_EXCHANGE_TIMEOUT_MS: '5000' });
    const b1 = new CookieClient();
    const b2 = new CookieClient();
    const c1 = await h.approve(b1, 'dual', { sellingPartnerId: 'A1SANDBOXSELLER1' });
    const c2 = await h.approve(b2, 'dual', { sellingPartnerId: 'A2SANDBOXSELLER2' });
    // A1's exchange is in flight (held at LWA) while A2's callback arrives.
    const gate = deferred();
    h.lwa.fail({ heldUntil: gate.promise });
    const p1 = b1.get(c1);
    await until(() => exchanges() === 1);
    const r2 = await b2.get(c2);
    expect([r2.status, reasonOf(r2.body)]).toEqual([409, 'partner_changed']);
    gate.resolve();
    const r1 = await p1;
    expect(r1.status).toBe(200);
    expect(exchanges()).toBe(1);
    const sent = h.lwa.received.filter((f) => f.get('grant_type') === 'authorization_code').map((f) => f.get('code'));
    expect(sent).toEqual([new URL(c1).searchParams.get('spapi_oauth_code')]);
    const authorized = [r1, r2].filter((r) => r.body.includes('Shipica is authorized'));
    expect(authorized).toHaveLength(1);
    expect((await row('dual'))?.sellingPartnerId).toBe('A1SANDBOXSELLER1');
  });
});

describe('ops unlink, the one way to switch', () => {
  it('asks first, and does nothing when not confirmed (exit 1), for a scope with no row (exit 1), without --region or --marketplace or with --region FE (exit 2)', async () => {
    h = await startHarness();
    await authorize('42');
    const printed: string[] = [];
    expect(await opsCommand(['unlink', '--customer', '42', '--region', 'NA'], h.values, h.clock.now(), (l) => printed.push(l), async () => false)).toBe(1);
    expect(printed).toContain('ops: not unlinked');
    expect((await row('42'))?.status).toBe('authorized');
    expect(await opsCommand(['unlink', '--customer', '42', '--region', 'EU', '--yes'], h.values, h.clock.now(), (l) => printed.push(l))).toBe(1);
    expect(await opsCommand(['unlink', '--customer', '42'], h.values, h.clock.now(), (l) => printed.push(l))).toBe(2);
    // The Far East is unlinked per marketplace: --region FE names no one credential.
    expect(await opsCommand(['unlink', '--customer', '42', '--region', 'FE', '--yes'], h.values, h.clock.now(), (l) => printed.push(l))).toBe(2);
    expect(await opsCommand(['unlink', '--customer', '42', '--marketplace', 'JP', '--yes'], h.values, h.clock.now(), (l) => printed.push(l))).toBe(1);
    expect(printed).toContain('ops: customer 42 has no row in JP: nothing to unlink');
    expect((await row('42'))?.status).toBe('authorized');
  });
});
