import { afterEach, describe, expect, it } from 'vitest';
import type { CredentialStore } from '../../src/credentials/index.js';
import { CookieClient } from '../support/cookieClient.js';
import { startHarness, type Harness } from '../support/harness.js';

/**
 * Issue 8 attacked as a stranger would: faults and races the issue's own tests do not cover. Through the local host
 * (non-sandbox settings), a temp SQLite file and the loopback LWA.
 */
let h: Harness;
afterEach(async () => {
  await h?.close();
});

const api = new CookieClient();
const exchanges = () => h.lwa.received.filter((f) => f.get('grant_type') === 'authorization_code').length;
const row = async (customer: string, region: 'NA' | 'EU' = 'NA') => (await h.services()).store.findCredential(customer, region);
const attempts = async (customer: string) => (await h.services()).store.listAttempts({ customerId: customer });

async function authorize(customer: string, sellingPartnerId = 'A1SANDBOXSELLER1', marketplace = 'US'): Promise<void> {
  const browser = new CookieClient();
  const res = await browser.get(await h.approve(browser, customer, { marketplace, sellingPartnerId }));
  expect(res.status).toBe(200);
}

/** A second connection holds SQLite's write lock (as another process would), starting now, until `releaseWhen()`. */
async function lockStoreUntil(releaseWhen: () => boolean): Promise<() => Promise<void>> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(String(h.values['LOCAL_DB_PATH']));
  db.exec('BEGIN EXCLUSIVE');
  const released = until(releaseWhen).then(() => {
    db.exec('COMMIT');
    db.close();
  });
  return () => released;
}

/** Runs `before` once, just before the store's next call of `method` (the call itself is the real one). */
async function beforeNext(method: keyof CredentialStore, before: () => Promise<void> | void): Promise<void> {
  const { store } = await h.services();
  const target = store as unknown as Record<string, (...args: unknown[]) => unknown>;
  const original = target[method];
  if (original === undefined) throw new Error(`no store method ${method}`);
  target[method] = async (...args: unknown[]) => {
    target[method] = original;
    await before();
    return original.apply(store, args);
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

async function until(condition: () => Promise<boolean> | boolean): Promise<void> {
  const giveUp = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > giveUp) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the store failing at the write that consumes the state, before the code is exchanged', () => {
  it('the store locked when the state is to be consumed, refusing that write twice: the seller is authorized once the lock is released', async () => {
    h = await startHarness({ STORE_RETRY_MS: '10000' });
    const { store } = await h.services();
    let refused = 0;
    const accept = store.acceptCallback.bind(store);
    store.acceptCallback = async (input) => {
      try {
        return await accept(input);
      } catch (error) {
        refused++;
        throw error;
      }
    };
    const browser = new CookieClient();
    const callback = await h.approve(browser, '42');
    let release: () => Promise<void> = async () => undefined;
    await beforeNext('acceptCallback', async () => {
      release = await lockStoreUntil(() => refused >= 2);
    });
    const res = await browser.get(callback);
    await release();
    expect(refused).toBeGreaterThanOrEqual(2);
    expect(res.body).toContain('Shipica is authorized');
    expect((await row('42'))?.status).toBe('authorized');
    expect(exchanges()).toBe(1);
  });

  it('a store error at the write that consumes the state ends the attempt failed/storage_error instead of leaving it pending', async () => {
    h = await startHarness();
    const browser = new CookieClient();
    const callback = await h.approve(browser, '42');
    await beforeNext('acceptCallback', () => {
      throw new Error('connection lost');
    });
    const res = await browser.get(callback);
    expect(res.body).toContain('<code>storage_error</code>');
    await until(async () => (await attempts('42'))[0]?.outcome !== 'pending');
    expect((await attempts('42')).map((a) => [a.outcome, a.reason])).toEqual([['failed', 'storage_error']]);
  });
});

describe('two attempts for one customer bringing two sellers at once', () => {
  it('only one seller ends up stored; the other callback is refused partner_changed and the first token is kept', async () => {
    h = await startHarness({ LWA_EXCHANGE_TIMEOUT_MS: '5000' });
    const b1 = new CookieClient();
    const b2 = new CookieClient();
    const c1 = await h.approve(b1, 'dual', { sellingPartnerId: 'A1SANDBOXSELLER1' });
    const c2 = await h.approve(b2, 'dual', { sellingPartnerId: 'A2SANDBOXSELLER2' });
    // Both exchanges are in flight together: each callback checked the row before either stored its token. LWA
    // answers neither before it has both; then A1's exchange (whichever arrived first), and A2's once A1's callback
    // has been answered.
    const gates = [deferred(), deferred()];
    h.lwa.fail({ heldUntil: gates[0]?.promise ?? Promise.resolve() }, { heldUntil: gates[1]?.promise ?? Promise.resolve() });
    const p1 = b1.get(c1);
    const p2 = b2.get(c2);
    await until(() => exchanges() === 2);
    const arrivals = h.lwa.received.filter((f) => f.get('grant_type') === 'authorization_code').map((f) => f.get('code'));
    const a1 = arrivals.indexOf(new URL(c1).searchParams.get('spapi_oauth_code'));
    expect(a1).toBeGreaterThanOrEqual(0);
    gates[a1]?.resolve();
    await p1;
    gates[1 - a1]?.resolve();
    const [r1, r2] = await Promise.all([p1, p2]);
    expect(exchanges()).toBe(2);
    const authorized = [r1, r2].filter((r) => r.body.includes('Shipica is authorized'));
    expect(authorized).toHaveLength(1);
    expect((await row('dual'))?.sellingPartnerId).toBe('A1SANDBOXSELLER1');
  });
});

describe('region-less access-token requests and another instance', () => {
  it('another instance authorizing a second region is seen within ACCESS_TOKEN_RECHECK_SECONDS: region_required, not the old region', async () => {
    h = await startHarness({ ACCESS_TOKEN_RECHECK_SECONDS: '60' });
    await authorize('multi');
    const first = await api.request(`${h.origin}/api/customers/multi/access-token`, { method: 'POST' });
    expect(first.status).toBe(200);
    // Another instance stores an EU authorization for the same customer (straight into the shared file).
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(String(h.values['LOCAL_DB_PATH']));
    db.prepare(
      `INSERT INTO sp_api_credentials (customer_id, region, marketplace, selling_partner_id, lwa_refresh_token, status, auth_granted_date, updated_at)
       VALUES ('multi', 'EU', 'DE', 'A2SANDBOXSELLER2', 'v1:x:y:z:w', 'authorized', ?, ?)`,
    ).run(h.clock.now().toISOString(), h.clock.now().toISOString());
    db.close();
    h.clock.advance(61_000);
    const later = await api.request(`${h.origin}/api/customers/multi/access-token`, { method: 'POST' });
    expect(later.status).toBe(400);
    expect(JSON.parse(later.body)).toMatchObject({ error: 'region_required' });
  });
});

describe("a caller's mistake in the path", () => {
  it('a malformed percent-escape in a customer id is answered 4xx (never 500)', async () => {
    h = await startHarness();
    const res = await api.request(`${h.origin}/api/customers/%E0%A4%A/access-token?region=NA`, { method: 'POST' });
    expect(res.status).toBeLessThan(500);
    expect(res.status).toBeGreaterThanOrEqual(400);
  });
});

describe('the store failing under an access-token request', () => {
  it('is answered as JSON 503 with Retry-After (what a calling process can parse), not an HTML error page', async () => {
    h = await startHarness();
    await authorize('42');
    await beforeNext('readAccessTokenSource', () => {
      throw new Error('connection lost');
    });
    const res = await api.request(`${h.origin}/api/customers/42/access-token?region=NA&refresh=true`, { method: 'POST' });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(JSON.parse(res.body)).toMatchObject({ error: 'storage_unavailable' });
    expect(res.headers.get('retry-after')).not.toBeNull();
  });
});
