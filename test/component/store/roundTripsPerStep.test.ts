import { afterEach, describe, expect, it } from 'vitest';
import type { CredentialStore } from '../../../src/credentials/index.js';
import { buildLaunchLink } from '../../../src/authorization/launchLink.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';

/**
 * Store calls per step, through the real HTTP wiring (local host, App, sandbox Seller Central, loopback LWA) on the
 * real SQLite store. Each store method is one round trip on SQL Server (test/contract/sqlServerRequests.test.ts
 * pins that), so these counts are the round trips a step costs there: issue 9 asks for at most 3 per successful
 * callback, 1 per AuthorizeStart and per Login-URI start, 0 per cached access token.
 */
let h: Harness;
afterEach(async () => {
  await h?.close();
});

/**
 * A counting decorator on the store instance the app serves with (the flows and the access-token service hold that
 * same instance): each call from outside the store is noted, in order, then passed to the real method unchanged.
 * Calls the store makes on itself (its private helpers, run synchronously inside a method) are not steps of a flow.
 */
async function countStoreCalls(): Promise<{ calls: string[]; reset(): void }> {
  const { store } = await h.services();
  const calls: string[] = [];
  let inside = 0;
  const target = store as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(store) as object) as Array<keyof CredentialStore>) {
    const original = target[name];
    if (name === ('constructor' as keyof CredentialStore) || name === 'isTransientError' || typeof original !== 'function') continue;
    target[name] = (...args: unknown[]): unknown => {
      if (inside === 0) calls.push(name);
      inside += 1;
      try {
        return (original as (...a: unknown[]) => unknown).apply(store, args);
      } finally {
        inside -= 1;
      }
    };
  }
  return { calls, reset: () => calls.splice(0) };
}

async function authorize(customer: string, browser = new CookieClient()): Promise<void> {
  const res = await browser.get(await h.approve(browser, customer));
  expect(res.body).toContain('Shipica is authorized');
}

describe('store round trips per step', () => {
  it('a successful callback makes 3 store calls: find the attempt, accept the callback, store the token', async () => {
    h = await startHarness();
    const counter = await countStoreCalls();
    const browser = new CookieClient();
    const callback = await h.approve(browser, '42');
    counter.reset();
    const res = await browser.get(callback);
    expect(res.body).toContain('Shipica is authorized');
    expect(counter.calls).toEqual(['findAttemptByStateHash', 'acceptCallback', 'completeAuthorization']);
  });

  it('AuthorizeStart from a website launch link makes 1 store call', async () => {
    h = await startHarness();
    const counter = await countStoreCalls();
    const res = await new CookieClient().get(h.launchLink('42', 'DE'));
    expect(res.status).toBe(302);
    expect(counter.calls).toEqual(['startAuthorization']);
  });

  it('AuthorizeStart from an Appstore launch link makes 1 store call', async () => {
    h = await startHarness();
    const counter = await countStoreCalls();
    const link = buildLaunchLink(
      h.origin,
      {
        customerId: '77',
        marketplace: 'US',
        expires: Math.floor(h.clock.now().getTime() / 1000) + 600,
        appstore: { amazonCallbackUri: 'https://sellercentral.amazon.com/apps/authorize/confirm/x', amazonState: 's', sellingPartnerId: 'A3SANDBOXSELLER3' },
      },
      h.secrets.launchLinkSecret,
    );
    const res = await new CookieClient().get(link);
    expect(res.status).toBe(302);
    expect(new URL(res.location ?? '').hostname).toBe('sellercentral.amazon.com');
    expect(counter.calls).toEqual(['startAuthorization']);
  });

  it('a Login-URI start for a known seller makes 1 store call', async () => {
    h = await startHarness();
    await authorize('42');
    const counter = await countStoreCalls();
    const query = new URLSearchParams({
      amazon_callback_uri: 'https://sellercentral.amazon.com/apps/authorize/confirm/x',
      amazon_state: 's',
      selling_partner_id: 'A1SANDBOXSELLER1',
    });
    const res = await new CookieClient().get(`${h.origin}/api/login?${query.toString()}`);
    expect(res.status).toBe(302);
    expect(new URL(res.location ?? '').searchParams.get('state')).not.toBeNull();
    expect(counter.calls).toEqual(['startLoginUriAttempt']);
  });

  it('a Login-URI start with a path-only amazon_callback_uri makes 1 store call', async () => {
    h = await startHarness();
    await authorize('42');
    const counter = await countStoreCalls();
    const query = new URLSearchParams({ amazon_callback_uri: '/apps/authorize/confirm/x', amazon_state: 's', selling_partner_id: 'A1SANDBOXSELLER1' });
    const res = await new CookieClient().get(`${h.origin}/api/login?${query.toString()}`);
    expect(res.status).toBe(302);
    expect(res.location).toMatch(new RegExp(`^${h.origin}/sandbox/sellercentral/na/apps/authorize/confirm/x\\?`));
    expect(counter.calls).toEqual(['startLoginUriAttempt']);
  });

  it('a Login-URI request whose path-only amazon_callback_uri leaves Seller Central is refused with no store call', async () => {
    h = await startHarness();
    await authorize('42');
    const counter = await countStoreCalls();
    const query = new URLSearchParams({ amazon_callback_uri: '/../../x', amazon_state: 's', selling_partner_id: 'A1SANDBOXSELLER1' });
    const res = await new CookieClient().get(`${h.origin}/api/login?${query.toString()}`);
    expect(res.status).toBe(400);
    expect(res.body).toContain('<code>amazon_callback_invalid</code>');
    expect(counter.calls).toEqual([]);
  });

  it('a Login-URI start for a seller nobody linked makes 1 store call', async () => {
    h = await startHarness();
    const counter = await countStoreCalls();
    const query = new URLSearchParams({
      amazon_callback_uri: 'https://sellercentral.amazon.com/apps/authorize/confirm/x',
      amazon_state: 's',
      selling_partner_id: 'A9UNKNOWNSELLER9',
    });
    const res = await new CookieClient().get(`${h.origin}/api/login?${query.toString()}`);
    expect(res.status).toBeLessThan(500);
    expect(counter.calls).toEqual(['startLoginUriAttempt']);
  });

  it('the same callback again in the same browser, once authorized, makes 1 store call and no LWA call', async () => {
    h = await startHarness();
    const browser = new CookieClient();
    const callback = await h.approve(browser, '42');
    expect((await browser.get(callback)).body).toContain('Shipica is authorized');
    const counter = await countStoreCalls();
    const grants = h.lwa.received.length;
    const again = await browser.get(callback);
    expect(again.body).toContain('Shipica is authorized');
    expect(counter.calls).toEqual(['findAttemptByStateHash']);
    expect(h.lwa.received.length).toBe(grants);
  });

  it('an access token cached by the authorization makes no store call', async () => {
    h = await startHarness();
    await authorize('42');
    const counter = await countStoreCalls();
    const res = await new CookieClient().request(`${h.origin}/api/customers/42/access-token?region=NA`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(counter.calls).toEqual([]);
  });

  it('the counter sees the access-token service: a forced refresh reads the store', async () => {
    h = await startHarness();
    await authorize('42');
    const counter = await countStoreCalls();
    const res = await new CookieClient().request(`${h.origin}/api/customers/42/access-token?region=NA&refresh=true`, { method: 'POST' });
    expect(res.status).toBe(200);
    // The exact number belongs to the shared access-token table (issue 9, another part); here only that it is seen.
    expect(counter.calls.length).toBeGreaterThan(0);
  });
});
