import { afterEach, describe, expect, it } from 'vitest';
import { opsCommand } from '../../src/cli/ops.js';
import { sha256Hex } from '../../src/authorization/state.js';
import { CookieClient } from '../support/cookieClient.js';
import { startHarness, type Harness } from '../support/harness.js';

/**
 * The record never lies (issue 7): outcomes alone change a seller's status; abandoned, replayed, expired and
 * switched-seller cases say what really happened; the audit stays bounded. Through the local host, non-sandbox
 * settings, loopback LWA.
 */
let h: Harness;
afterEach(async () => {
  await h?.close();
});

const api = new CookieClient();
const accessToken = (customer: string) => api.request(`${h.origin}/api/customers/${customer}/access-token?region=NA`, { method: 'POST' });
const exchanges = () => h.lwa.received.filter((f) => f.get('grant_type') === 'authorization_code').length;
const row = async (customer: string, region: 'NA' | 'EU' = 'NA') => (await h.services()).store.findCredential(customer, region);
const opsStatus = async (customer: string) => {
  const { store } = await h.services();
  return store.listCredentialStatus({ customerId: customer }, h.clock.now());
};
const sellerCentral = () => `${h.origin}/sandbox/sellercentral`;

async function authorize(customer: string, sellingPartnerId = 'A1SANDBOXSELLER1', marketplace = 'US'): Promise<void> {
  const browser = new CookieClient();
  const res = await browser.get(await h.approve(browser, customer, { marketplace, sellingPartnerId }));
  expect(res.status).toBe(200);
}

async function revoke(customer: string, sellingPartnerId = 'A1SANDBOXSELLER1'): Promise<void> {
  h.lwa.sandbox.revokeSeller(sellingPartnerId);
  // As a caller whose SP-API call got 401 does: skip the cached access token, so the refresh finds the revocation.
  expect((await api.request(`${h.origin}/api/customers/${customer}/access-token?region=NA&refresh=true`, { method: 'POST' })).status).toBe(409);
  expect((await row(customer))?.status).toBe('revoked');
}

function loginUri(fields: { callback?: string; state?: string; seller: string }): string {
  const url = new URL(`${h.origin}/api/login`);
  url.searchParams.set('amazon_callback_uri', fields.callback ?? `${sellerCentral()}/na/apps/authorize/confirm`);
  url.searchParams.set('amazon_state', fields.state ?? 'amzn-state-1');
  url.searchParams.set('selling_partner_id', fields.seller);
  return url.toString();
}

describe('(1) starting an attempt never changes a status', () => {
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
      const res = await anonymous.get(loginUri({ seller: i % 2 === 0 ? 'A1SANDBOXSELLER1' : 'A2SANDBOXSELLER2', state: `x${i}` }));
      expect([302, 429]).toContain(res.status);
    }
    expect(await row('42')).toEqual(revokedBefore);
    expect(await row('43')).toEqual(authorizedBefore);
    expect((await accessToken('42')).status).toBe(409);
    const { store } = await h.services();
    expect((await store.listAttempts({ customerId: '42' })).filter((a) => a.flow === 'reauthorize')).toHaveLength(20);
  });
});

describe('(2) attempts end', () => {
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

describe('(3) too slow is reported as too slow', () => {
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

  it('every dead end offers the way back to Shipica when OXWEBAPP_LINK_URL is set', async () => {
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

describe('(5) switching sellers is explicit', () => {
  it('a website callback bringing another seller is refused as partner_changed, with no exchange; after ops unlink the new seller authorizes', async () => {
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

  it('ops unlink asks first, and does nothing when not confirmed', async () => {
    h = await startHarness();
    await authorize('42');
    const printed: string[] = [];
    expect(await opsCommand(['unlink', '--customer', '42', '--region', 'NA'], h.values, h.clock.now(), (l) => printed.push(l), async () => false)).toBe(1);
    expect(printed).toContain('ops: not unlinked');
    expect((await row('42'))?.status).toBe('authorized');
    expect(await opsCommand(['unlink', '--customer', '42', '--region', 'EU', '--yes'], h.values, h.clock.now(), (l) => printed.push(l))).toBe(1);
    expect(await opsCommand(['unlink', '--customer', '42'], h.values, h.clock.now(), (l) => printed.push(l))).toBe(2);
  });
});

describe('(6) vendor ids are understood', () => {
  it('a Login-URI request for a vendor id gets vendor_not_supported, writing nothing', async () => {
    h = await startHarness();
    const res = await new CookieClient().get(loginUri({ seller: 'amzn1.vg.1234567' }));
    expect(res.status).toBe(400);
    expect(res.body).toContain('<code>vendor_not_supported</code>');
    const { store } = await h.services();
    expect(await store.listAttempts()).toEqual([]);
    expect(await store.listCredentials()).toEqual([]);
  });

  it('Vendor Central hosts are not on the Login-URI allow-list', async () => {
    h = await startHarness({ SELLER_CENTRAL_URL: '' });
    const res = await new CookieClient().get(loginUri({ seller: 'A1SANDBOXSELLER1', callback: 'https://vendorcentral.amazon.com/apps/authorize/confirm/x' }));
    expect(res.status).toBe(400);
    expect(res.body).toContain('<code>amazon_callback_invalid</code>');
  });
});

describe('(7) a path-only amazon_callback_uri', () => {
  it("is resolved against the Seller Central origin of the seller's linked region (real hosts)", async () => {
    h = await startHarness();
    await authorize('42', 'A1SANDBOXSELLER1', 'US');
    await authorize('77', 'A3SANDBOXSELLER3', 'DE');
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

  it('sends the browser on to Seller Central in the sandbox, and the re-authorization completes', async () => {
    h = await startHarness();
    await authorize('42');
    const browser = new CookieClient();
    const res = await browser.get(loginUri({ seller: 'A1SANDBOXSELLER1', callback: '/apps/authorize/confirm' }));
    expect(res.status).toBe(302);
    expect(res.location?.startsWith(`${sellerCentral()}/na/apps/authorize/confirm?`)).toBe(true);
  });

  it('asks a seller linked in several regions to start from Shipica, and refuses a path that would leave Amazon', async () => {
    h = await startHarness();
    await authorize('42', 'A1SANDBOXSELLER1', 'US');
    await authorize('42', 'A1SANDBOXSELLER1', 'DE');
    const ambiguous = await new CookieClient().get(loginUri({ seller: 'A1SANDBOXSELLER1', callback: '/apps/authorize/confirm' }));
    expect(ambiguous.status).toBe(200);
    expect(ambiguous.body).toContain('which region');
    for (const path of ['//evil.example/apps', '/\\evil.example']) {
      const res = await new CookieClient().get(loginUri({ seller: 'A1SANDBOXSELLER1', callback: path }));
      expect(res.status).toBe(400);
    }
  });
});

describe('(8) the audit stays bounded', () => {
  it('5,000 callbacks with random states write no row and only a few log lines', async () => {
    h = await startHarness();
    const { store } = await h.services();
    const logsBefore = h.logs.length;
    const client = new CookieClient();
    const started = Date.now();
    for (let batch = 0; batch < 50; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          const state = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
          const url = `${h.origin}/api/lwa-callback?state=${state}&selling_partner_id=A1SANDBOXSELLER1&spapi_oauth_code=ANcode`;
          expect((await client.request(url, { method: 'GET' })).status).toBe(400);
        }),
      );
    }
    const seconds = Math.ceil((Date.now() - started) / 1000);
    expect(await store.listAttempts()).toEqual([]);
    const lines = h.logs.slice(logsBefore).filter((l) => l.includes('never issued'));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThanOrEqual(seconds + 1);
    const last = JSON.parse(lines.at(-1) ?? '{}') as { totalRefused?: number };
    expect(last.totalRefused).toBeLessThanOrEqual(5000);
    expect((await h.services()).unknownStates.total).toBe(5000);
  }, 60_000); // 5,000 round trips: room for a machine busy with other files
});

describe('storage: a refresh token Amazon issued is kept', () => {
  it('the store locked during the exchange, refusing the write twice: authorized after the retries', async () => {
    h = await startHarness({ STORE_RETRY_MS: '10000' });
    const { store } = await h.services();
    let refused = 0;
    const complete = store.completeAuthorization.bind(store);
    store.completeAuthorization = async (input) => {
      try {
        return await complete(input);
      } catch (error) {
        refused++;
        throw error;
      }
    };
    const browser = new CookieClient();
    const callback = await h.approve(browser, '42');
    const pending = browser.get(callback);
    const release = lockStoreDuringExchange(() => refused >= 2);
    const res = await pending;
    await release;
    expect(res.status).toBe(200);
    expect(refused).toBeGreaterThanOrEqual(2);
    expect((await row('42'))?.status).toBe('authorized');
    expect(exchanges()).toBe(1);
  });

  it('locked for longer than STORE_RETRY_MS: one error line, the attempt ends storage_error when the store answers, the page says start again', async () => {
    h = await startHarness({ STORE_RETRY_MS: '300' });
    const browser = new CookieClient();
    const callback = await h.approve(browser, '42');
    let answered = false;
    const pending = browser.get(callback).finally(() => (answered = true));
    // The store answers again only once the seller has been answered.
    const release = lockStoreDuringExchange(() => answered);
    const res = await pending;
    expect(res.status).toBe(503);
    expect(res.body).toContain('<code>storage_error</code>');
    expect(res.body).toContain('start again from Shipica');
    expect(res.body).not.toContain('Reload this page');
    const dropped = h.logs.filter((l) => l.includes('a refresh token Amazon issued could not be stored'));
    expect(dropped).toHaveLength(1);
    expect(JSON.parse(dropped[0] ?? '{}')).toMatchObject({ level: 'error', customerId: '42', region: 'NA' });
    for (const token of h.lwa.issuedTokens) expect(dropped[0]).not.toContain(token);
    await release;
    const { store } = await h.services();
    await until(async () => (await store.listAttempts({ customerId: '42' }))[0]?.outcome === 'failed');
    expect((await store.listAttempts({ customerId: '42' })).map((a) => [a.outcome, a.reason])).toEqual([['failed', 'storage_error']]);
    expect((await row('42'))?.status).toBe('failed');
    const reload = await browser.get(callback);
    expect(reload.body).toContain('<code>storage_error</code>');
    expect(reload.body).toContain('start again from Shipica');
  });
});

describe('storage: a store failure at the write that spends the state', () => {
  it('ends the attempt as storage_error, so a reload says to start again instead of waiting for an exchange nobody runs', async () => {
    h = await startHarness();
    const { store } = await h.services();
    const original = store.acceptCallback.bind(store);
    store.acceptCallback = async () => {
      store.acceptCallback = original;
      throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
    };
    const browser = new CookieClient();
    const callback = await h.approve(browser, '42');
    const res = await browser.get(callback);
    expect(res.status).toBe(503);
    expect(res.body).toContain('<code>storage_error</code>');
    expect(exchanges()).toBe(0);
    await until(async () => (await store.listAttempts({ customerId: '42' }))[0]?.outcome === 'failed');
    const reload = await browser.get(callback);
    expect(reload.body).toContain('<code>storage_error</code>');
    expect(reload.body).not.toContain('Reload this page');
  });
});

/**
 * Once the LWA stand-in has the exchange, a second connection takes the SQLite write lock, and only then does LWA
 * answer (so the flow's write finds the file locked); the lock is held until `releaseWhen()`.
 */
async function lockStoreDuringExchange(releaseWhen: () => boolean): Promise<void> {
  const { default: Database } = await import('better-sqlite3');
  let locked = (): void => undefined;
  h.lwa.fail({ heldUntil: new Promise<void>((resolve) => (locked = resolve)) });
  await until(() => exchanges() > 0);
  const db = new Database(String(h.values['LOCAL_DB_PATH']));
  db.exec('BEGIN EXCLUSIVE');
  locked();
  await until(releaseWhen);
  db.exec('COMMIT');
  db.close();
}

async function until(condition: () => Promise<boolean> | boolean): Promise<void> {
  const giveUp = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > giveUp) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
