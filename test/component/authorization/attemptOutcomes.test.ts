import { afterEach, describe, expect, it } from 'vitest';
import { FORCED_REFRESH_REUSE_MS } from '../../../src/accessTokens/leaseDecision.js';
import { opsCommand } from '../../../src/cli/ops.js';
import { sha256Hex } from '../../../src/authorization/state.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { authorizeOnWebsite, codeExchanges, credentialRow, loginUri } from '../../support/steps.js';

/**
 * What an authorization attempt does to the record, and what its outcome says: starting one (a launch link, an
 * anonymous Login-URI call) never changes a seller's status; an attempt nobody came back to reads abandoned, one whose
 * exchange never finished reads interrupted, one that took too long reads state_expired, each with a page that says
 * so. Through the local host, non-sandbox settings, loopback LWA.
 */
let h: Harness;
afterEach(async () => {
  await h?.close();
});

const api = new CookieClient();
const accessToken = (customer: string) => api.request(`${h.origin}/api/customers/${customer}/access-token?region=NA`, { method: 'POST' });
const exchanges = () => codeExchanges(h);
const row = (customer: string) => credentialRow(h, customer);
const authorize = (customer: string, sellingPartnerId?: string) => authorizeOnWebsite(h, customer, sellingPartnerId);
const opsStatus = async (customer: string) => {
  const { store } = await h.services();
  return store.listCredentialStatus({ customerId: customer }, h.clock.now());
};

async function revoke(customer: string, sellingPartnerId = 'A1SANDBOXSELLER1'): Promise<void> {
  h.lwa.sandbox.revokeSeller(sellingPartnerId);
  // Past the window in which a forced refresh is served the token just made (the code exchange's).
  h.clock.advance(FORCED_REFRESH_REUSE_MS);
  // As a caller whose SP-API call got 401 does: skip the cached access token, so the refresh finds the revocation.
  expect((await api.request(`${h.origin}/api/customers/${customer}/access-token?region=NA&refresh=true`, { method: 'POST' })).status).toBe(409);
  expect((await row(customer))?.status).toBe('revoked');
}

describe('starting an attempt never changes a status', () => {
  it('a revoked row stays revoked through an abandoned website attempt: the access-token answer stays 409', async () => {
    h = await startHarness();
    await authorize('42');
    await revoke('42');
    const before = await row('42');

    // The seller opens a fresh launch link and stops at Seller Central (cancel, MD5101, closes the tab).
    const browser = new CookieClient();
    expect((await browser.get(h.launchLink('42'))).status).toBe(302);
    const after = await row('42');
    expect(after?.status).toBe('revoked');
    expect(after?.lwaRefreshToken).toBe(before?.lwaRefreshToken);
    expect((await accessToken('42')).status).toBe(409);
    h.clock.advance(11 * 60_000);
    expect((await accessToken('42')).status).toBe(409);
    const [status] = await opsStatus('42');
    expect([status?.status, status?.lastAttemptOutcome]).toEqual(['revoked', 'abandoned']);
  });

  it('100 anonymous Login-URI calls write no credential column: revoked stays revoked, authorized keeps its auth_requested_date', async () => {
    h = await startHarness();
    await authorize('42');
    await authorize('43', 'A2SANDBOXSELLER2');
    await revoke('42');
    const revokedBefore = await row('42');
    const authorizedBefore = await row('43');
    const anonymous = new CookieClient();
    for (let i = 0; i < 100; i++) {
      // At most 20 attempts are open per row at once: the rest are refused with a page, writing nothing.
      const res = await anonymous.get(loginUri(h, { seller: i % 2 === 0 ? 'A1SANDBOXSELLER1' : 'A2SANDBOXSELLER2', state: `x${i}` }));
      expect([302, 429]).toContain(res.status);
    }
    expect(await row('42')).toEqual(revokedBefore);
    expect(await row('43')).toEqual(authorizedBefore);
    expect((await accessToken('42')).status).toBe(409);
    const { store } = await h.services();
    expect((await store.listAttempts({ customerId: '42' })).filter((a) => a.flow === 'reauthorize')).toHaveLength(20);
  });
});

describe('every attempt ends, and its outcome says how', () => {
  it('an attempt nobody came back to reads abandoned after STATE_TTL_SECONDS, everywhere; the fresh row stays pending', async () => {
    h = await startHarness();
    const browser = new CookieClient();
    expect((await browser.get(h.launchLink('new-1'))).status).toBe(302);
    expect((await opsStatus('new-1')).map((r) => [r.status, r.lastAttemptOutcome])).toEqual([['pending', 'pending']]);
    h.clock.advance(601_000);
    expect((await opsStatus('new-1')).map((r) => [r.status, r.lastAttemptOutcome])).toEqual([['pending', 'abandoned']]);

    const lines: string[] = [];
    expect(await opsCommand(['attempts', '--customer', 'new-1', '--json'], h.values, h.clock.now(), (l) => lines.push(l))).toBe(0);
    expect((JSON.parse(lines.join('\n')) as Array<{ outcome: string }>).map((a) => a.outcome)).toEqual(['abandoned']);
  });

  it('a state consumed whose exchange never finished (the process died) reads interrupted, and a reload says to start again', async () => {
    h = await startHarness();
    const browser = new CookieClient();
    const callback = await h.approve(browser, '42');
    // The crash: another process consumed the state, then died before the exchange finished.
    const { store } = await h.services();
    const state = new URL(callback).searchParams.get('state') ?? '';
    const now = h.clock.now();
    expect(
      await store.consumeAttempt({
        stateHash: sha256Hex(state),
        now,
        sellingPartnerId: 'A1SANDBOXSELLER1',
        codeHash: sha256Hex(new URL(callback).searchParams.get('spapi_oauth_code') ?? ''),
        exchangeDeadline: new Date(now.getTime() + 300_000),
      }),
    ).toBe(true);
    h.clock.advance(301_000);
    const reload = await browser.get(callback);
    expect(reload.status).toBe(409);
    expect(reload.body).toContain('<code>interrupted</code>');
    expect(reload.body).toContain('Start again from Shipica');
    expect(reload.body).not.toContain('Reload this page');
    expect(exchanges()).toBe(0);
    expect((await opsStatus('42')).map((r) => r.lastAttemptOutcome)).toEqual(['interrupted']);
  });
});

describe('too slow is reported as too slow', () => {
  it.each([
    ['with the binding cookie still there', false],
    ['with the cookie gone too', true],
  ])('66 s at the consent page with a 60 s state: state_expired, %s', async (_name, dropCookie) => {
    h = await startHarness({ STATE_TTL_SECONDS: '60' });
    const browser = new CookieClient();
    const callback = await h.approve(browser, '42');
    const [cookie] = browser.jar.values();
    // The cookie outlives the state, so a browser still sends it after 66 s.
    expect(cookie?.maxAge).toBeGreaterThan(66);
    h.clock.advance(66_000);
    if (dropCookie) browser.jar.clear();
    const res = await browser.get(callback);
    expect(res.status).toBe(400);
    expect(res.body).toContain('<code>state_expired</code>');
    expect(res.body).toContain('This took too long');
    expect(res.body).not.toContain('another browser');
    expect(exchanges()).toBe(0);
    const { store } = await h.services();
    expect((await store.listAttempts()).filter((a) => a.flow === 'callback').map((a) => a.reason)).toEqual(['state_expired']);
  });

  it('an expired state and a refused launch link both offer the way back to Shipica when OXWEBAPP_LINK_URL is set', async () => {
    h = await startHarness({ OXWEBAPP_LINK_URL: 'https://app.shipica.example/amazon/connect' });
    const browser = new CookieClient();
    const callback = await h.approve(browser, '42');
    h.clock.advance(601_000);
    const res = await browser.get(callback);
    expect(res.body).toContain('href="https://app.shipica.example/amazon/connect"');
    const refusedLink = await browser.get(`${h.origin}/api/authorize?customer_id=42&marketplace=US&expires=1&sig=x`);
    expect(refusedLink.status).toBe(400);
    expect(refusedLink.body).toContain('href="https://app.shipica.example/amazon/connect"');
  });
});
