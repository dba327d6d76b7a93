import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../../src/app.js';
import { consoleLogger } from '../../../src/logging/logging.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { codeExchanges, until } from '../../support/steps.js';

/**
 * A callback claims its seller (in its scope) before it exchanges the code, so a concurrent callback of another
 * customer for that seller is refused with no exchange (partner_conflict means "no code spent"); and the access token
 * the exchange returned serves the whole fleet, so another instance does not refresh for it.
 */
let h: Harness;
afterEach(async () => {
  await h.close();
});

const reasonOf = (body: string) => /Reason: <code>([^<]+)<\/code>/.exec(body)?.[1];

describe('two customers authorizing one seller at once', () => {
  it('refuses the second callback while the first exchange is in flight, without exchanging its code; the first completes', async () => {
    h = await startHarness();
    const first = new CookieClient();
    const second = new CookieClient();
    const firstCallback = await h.approve(first, '42', { sellingPartnerId: 'A1SANDBOXSELLER1' });
    const secondCallback = await h.approve(second, '43', { sellingPartnerId: 'A1SANDBOXSELLER1' });
    let release: () => void = () => undefined;
    h.lwa.fail({ heldUntil: new Promise<void>((resolve) => (release = resolve)) });

    const firstPage = first.get(firstCallback);
    await until(() => codeExchanges(h) === 1);
    const refused = await second.get(secondCallback);
    expect(refused.status).toBe(409);
    expect(reasonOf(refused.body)).toBe('partner_conflict');
    expect(codeExchanges(h)).toBe(1);

    release();
    expect((await firstPage).status).toBe(200);
    const { store } = await h.services();
    expect([(await store.findCredential('42', 'NA'))?.status, (await store.findCredential('42', 'NA'))?.sellingPartnerId]).toEqual(['authorized', 'A1SANDBOXSELLER1']);
    expect((await store.findCredential('43', 'NA'))?.sellingPartnerId ?? null).toBeNull();
    const outcomes = (await store.listAttempts({})).filter((a) => a.flow === 'website').map((a) => [a.customerId, a.outcome, a.reason]);
    expect(outcomes).toEqual(expect.arrayContaining([['42', 'succeeded', null], ['43', 'failed', 'partner_conflict']]));
  });

  it('30 customers at once: one code exchanged, one authorized, 29 refused as partner_conflict', async () => {
    h = await startHarness();
    const browsers = Array.from({ length: 30 }, () => new CookieClient());
    const callbacks = await Promise.all(browsers.map((b, i) => h.approve(b, `c${i}`, { sellingPartnerId: 'A1SANDBOXSELLER1' })));
    const pages = await Promise.all(browsers.map((b, i) => b.get(callbacks[i] ?? '')));
    expect(pages.filter((p) => p.status === 200)).toHaveLength(1);
    expect(pages.filter((p) => reasonOf(p.body) === 'partner_conflict')).toHaveLength(29);
    expect(codeExchanges(h)).toBe(1);
  });

  it('claims per scope: the same seller authorizing another customer in Europe meanwhile is not held up', async () => {
    h = await startHarness();
    const first = new CookieClient();
    const second = new CookieClient();
    const firstCallback = await h.approve(first, '42', { sellingPartnerId: 'A1SANDBOXSELLER1' });
    const secondCallback = await h.approve(second, '43', { sellingPartnerId: 'A1SANDBOXSELLER1', marketplace: 'DE' });
    let release: () => void = () => undefined;
    h.lwa.fail({ heldUntil: new Promise<void>((resolve) => (release = resolve)) });
    const firstPage = first.get(firstCallback);
    await until(() => codeExchanges(h) === 1);
    expect((await second.get(secondCallback)).status).toBe(200);
    release();
    expect((await firstPage).status).toBe(200);
  });
});

describe('the access token of the code exchange', () => {
  it('serves another instance of the fleet with no refresh of its own', async () => {
    h = await startHarness();
    const browser = new CookieClient();
    expect((await browser.get(await h.approve(browser, '42'))).status).toBe(200);
    const refreshes = h.lwa.sandbox.requests.refresh_token;
    const exchanged = h.lwa.issuedTokens.find((token) => token.startsWith('Atza|'));

    const other = new App({ values: h.values, environment: { inAzure: false }, logger: consoleLogger(() => undefined), clock: h.clock });
    try {
      const state = await other.state();
      if (!state.ok) throw new Error(state.problems.join('; '));
      const token = await state.services.accessTokens.get({ customerId: '42', region: 'NA' });
      expect(token.ok && token.token.accessToken).toBe(exchanged);
      expect(h.lwa.sandbox.requests.refresh_token).toBe(refreshes);
    } finally {
      await other.close();
    }
  });
});
