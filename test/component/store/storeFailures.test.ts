import { afterEach, describe, expect, it } from 'vitest';
import type { CredentialStore } from '../../../src/credentials/index.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { authorizeOnWebsite, codeExchanges, credentialRow, until } from '../../support/steps.js';

/**
 * The store failing (locked by another connection, or throwing) at each write a request depends on: the write that
 * consumes the state, the one that keeps the refresh token Amazon issued, the read behind an access token. A lock
 * shorter than STORE_RETRY_MS is waited out; otherwise the attempt ends storage_error (never left pending) and the
 * answer says to start again, or is a JSON 503 a calling process can parse. Through the local host (non-sandbox
 * settings), a temp SQLite file and the loopback LWA.
 */
let h: Harness;
afterEach(async () => {
  await h?.close();
});

const api = new CookieClient();
const exchanges = () => codeExchanges(h);
const row = (customer: string) => credentialRow(h, customer);
const attempts = async (customer: string) => (await h.services()).store.listAttempts({ customerId: customer });
const authorize = (customer: string) => authorizeOnWebsite(h, customer);

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

/** Counts the calls of the store's `method` that threw (each call and its answer or error passed on unchanged). */
async function countRefusals(method: 'acceptCallback' | 'completeAuthorization'): Promise<() => number> {
  const { store } = await h.services();
  const target = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const original = target[method];
  if (original === undefined) throw new Error(`no store method ${method}`);
  let refused = 0;
  target[method] = async (...args: unknown[]) => {
    try {
      return await original.apply(store, args);
    } catch (error) {
      refused++;
      throw error;
    }
  };
  return () => refused;
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

describe('the store failing at the write that consumes the state, before the code is exchanged', () => {
  it('the store locked when the state is to be consumed, refusing that write twice: the seller is authorized once the lock is released', async () => {
    h = await startHarness({ STORE_RETRY_MS: '10000' });
    const refused = await countRefusals('acceptCallback');
    const browser = new CookieClient();
    const callback = await h.approve(browser, '42');
    let release: () => Promise<void> = async () => undefined;
    await beforeNext('acceptCallback', async () => {
      release = await lockStoreUntil(() => refused() >= 2);
    });
    const res = await browser.get(callback);
    await release();
    expect(refused()).toBeGreaterThanOrEqual(2);
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

  it('a disk I/O error at that write answers 503 storage_error with no exchange, and a reload says to start again instead of waiting for an exchange nobody runs', async () => {
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

describe('the store failing at the write that keeps the refresh token Amazon issued', () => {
  it('the store locked during the exchange, refusing the write twice: authorized after the retries', async () => {
    h = await startHarness({ STORE_RETRY_MS: '10000' });
    const refused = await countRefusals('completeAuthorization');
    const browser = new CookieClient();
    const callback = await h.approve(browser, '42');
    const pending = browser.get(callback);
    const release = lockStoreDuringExchange(() => refused() >= 2);
    const res = await pending;
    await release;
    expect(res.status).toBe(200);
    expect(refused()).toBeGreaterThanOrEqual(2);
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
    expect(JSON.parse(dropped[0] ?? '{}')).toMatchObject({ level: 'error', customerId: '42', scope: 'NA' });
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
