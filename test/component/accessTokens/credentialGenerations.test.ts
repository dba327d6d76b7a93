import { afterEach, describe, expect, it } from 'vitest';
import { FORCED_REFRESH_REUSE_MS } from '../../../src/accessTokens/leaseDecision.js';
import type { CredentialStore } from '../../../src/credentials/index.js';
import { unlinkCredential } from '../../../src/authorization/unlinkCredential.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';

/**
 * Every access token belongs to the credential (seller + refresh-token envelope + status) that made it, and a cached
 * token costs no store round trip. Through the local host against the loopback LWA.
 */
let h: Harness;
afterEach(async () => {
  await h?.close();
});

const RECHECK_SECONDS = 60;

async function start(overrides: Record<string, string> = {}): Promise<Harness> {
  // A slow LWA success must still be a success: the client's timeout stays well above the scripted delay.
  h = await startHarness({ LWA_TIMEOUT_MS: '5000', ACCESS_TOKEN_RECHECK_SECONDS: String(RECHECK_SECONDS), ...overrides });
  return h;
}

/** Authorizes `customer` for `sellingPartnerId` as a browser would (website workflow). */
async function authorize(customer: string, sellingPartnerId: string, marketplace = 'US'): Promise<void> {
  const browser = new CookieClient();
  const res = await browser.get(await h.approve(browser, customer, { marketplace, sellingPartnerId }));
  expect(res.status).toBe(200);
}

/**
 * The customer's row changes to another seller with a new refresh token: a callback refuses that in passing
 * (partner_changed), so ops unlinks first (in this process, as `npm run ops -- unlink` does in its own), then the
 * customer authorizes the other seller.
 */
async function rowChangesToAnotherSeller(customer: string, sellingPartnerId: string): Promise<void> {
  const services = await h.services();
  const result = await unlinkCredential({ ...services, logger: { info: () => undefined, warn: () => undefined, error: () => undefined } }, { customerId: customer, scope: 'NA' });
  expect(result.kind).toBe('unlinked');
  await authorize(customer, sellingPartnerId);
}

const api = new CookieClient();
const post = (path: string) => api.request(`${h.origin}${path}`, { method: 'POST' });
const json = (res: { body: string }) => JSON.parse(res.body) as Record<string, string>;
const refreshCalls = () => h.lwa.received.filter((f) => f.get('grant_type') === 'refresh_token').length;

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

type StoreMethod = keyof CredentialStore;
/** Counts every call made on the services' store instance (each is a round trip on SQL Server). */
async function countStoreCalls(): Promise<{ total(): number; byMethod: Map<string, number> }> {
  const { store } = await h.services();
  const byMethod = new Map<string, number>();
  const target = store as unknown as Record<string, unknown>;
  const proto = Object.getPrototypeOf(store) as object;
  for (const name of Object.getOwnPropertyNames(proto) as StoreMethod[]) {
    const original = target[name];
    if (name === ('constructor' as StoreMethod) || typeof original !== 'function') continue;
    target[name] = (...args: unknown[]) => {
      byMethod.set(name, (byMethod.get(name) ?? 0) + 1);
      return (original as (...a: unknown[]) => unknown).apply(store, args);
    };
  }
  return { total: () => [...byMethod.values()].reduce((a, b) => a + b, 0), byMethod };
}

describe('a refresh that finishes after the row changed', () => {
  it('never serves the old seller’s token once another seller is stored, 20 times in a row', async () => {
    await start();
    const customer = 'race';
    // The sandbox knows three sellers: the row swaps between two of them, so each round's S2 is the next round's S1.
    const sellers = ['A1SANDBOXSELLER1', 'A2SANDBOXSELLER2'] as const;
    await authorize(customer, sellers[0]);
    for (let i = 0; i < 20; i++) {
      const s1 = sellers[i % 2] ?? '';
      const s2 = sellers[(i + 1) % 2] ?? '';
      const before = refreshCalls();
      // A forced refresh within a minute of the last refresh of the same credential is served that token (no LWA).
      h.clock.advance(FORCED_REFRESH_REUSE_MS);

      // refresh=true reaches LWA, which answers only once the row has changed.
      let rowChanged = (): void => undefined;
      h.lwa.fail({ heldUntil: new Promise<void>((resolve) => (rowChanged = resolve)) });
      let inFlightDone = false;
      const inFlight = post(`/api/customers/${customer}/access-token?region=NA&refresh=true`).then((res) => {
        inFlightDone = true;
        return res;
      });
      await until(() => refreshCalls() > before);
      const oldTokens = new Set(h.lwa.issuedTokens);
      await rowChangesToAnotherSeller(customer, s2);
      expect(inFlightDone).toBe(false); // the race really happened: S2 was stored while S1's refresh was in flight
      const storedBeforeAnswer = h.lwa.issuedTokens.length;

      rowChanged();
      const answered = await inFlight;
      // The first token issued after the change was stored is the delayed one: made from S1's refresh token.
      const delayed = h.lwa.issuedTokens[storedBeforeAnswer];
      expect(delayed).toBeDefined();
      const s1Tokens = new Set([...oldTokens, delayed]);

      expect(answered.status).toBe(200);
      expect(json(answered)['selling_partner_id']).toBe(s2);
      expect(s1Tokens.has(json(answered)['access_token'] ?? '')).toBe(false);

      for (const path of [
        `/api/customers/${customer}/access-token`,
        `/api/customers/${customer}/access-token?region=NA`,
        `/api/sellers/${s2}/access-token?region=NA`,
        `/api/sellers/${s2}/access-token`,
      ]) {
        const res = await post(path);
        expect(res.status, path).toBe(200);
        expect(json(res)['selling_partner_id'], path).toBe(s2);
        expect(s1Tokens.has(json(res)['access_token'] ?? ''), path).toBe(false);
      }
      for (const path of [`/api/sellers/${s1}/access-token?region=NA`, `/api/sellers/${s1}/access-token`]) {
        const res = await post(path);
        expect(res.status, path).toBe(404);
        expect(json(res)['error'], path).toBe('not_authorized');
      }
    }
  });
});

describe('a cached access token', () => {
  const WITH_REGION = ['/api/customers/42/access-token?region=NA', '/api/sellers/A1SANDBOXSELLER1/access-token?region=NA'];
  const WITHOUT_REGION = ['/api/customers/42/access-token', '/api/sellers/A1SANDBOXSELLER1/access-token'];

  /** 1,000 requests over the given paths, in batches; every one must answer the same token. */
  async function thousandRequests(paths: readonly string[]): Promise<string> {
    const tokens = new Set<string>();
    for (let batch = 0; batch < 10; batch++) {
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => post(paths[i % paths.length] ?? '')));
      for (const res of results) {
        expect(res.status).toBe(200);
        tokens.add(json(res)['access_token'] ?? '');
      }
    }
    expect(tokens.size).toBe(1);
    return [...tokens][0] ?? '';
  }

  it('costs no store call for 1,000 requests that name the region', async () => {
    await start();
    await authorize('42', 'A1SANDBOXSELLER1');
    const calls = await countStoreCalls();
    await thousandRequests(WITH_REGION);
    expect(Object.fromEntries(calls.byMethod)).toEqual({});
    expect(refreshCalls()).toBe(0);
  });

  it('costs no store call for 1,000 requests without a region once the one region is known', async () => {
    await start();
    await authorize('42', 'A1SANDBOXSELLER1');
    for (const path of WITHOUT_REGION) expect((await post(path)).status).toBe(200); // each learns the region once
    const calls = await countStoreCalls();
    await thousandRequests(WITHOUT_REGION);
    expect(Object.fromEntries(calls.byMethod)).toEqual({});
    expect(refreshCalls()).toBe(0);
  });

  for (const [shape, paths] of [
    ['naming the region', WITH_REGION],
    ['without a region', WITHOUT_REGION],
  ] as const) {
    it(`is read from the store once after ACCESS_TOKEN_RECHECK_SECONDS, then served from memory again (${shape})`, async () => {
      await start();
      await authorize('42', 'A1SANDBOXSELLER1');
      for (const path of paths) await post(path);
      const calls = await countStoreCalls();
      const before = json(await post(paths[0] ?? ''))['access_token'];
      expect(calls.total()).toBe(0);

      h.clock.advance(RECHECK_SECONDS * 1000);
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => post(paths[i % paths.length] ?? '')));
      expect(results.map((r) => json(r)['access_token'])).toEqual(Array(50).fill(before));
      // Without a region the requester's rows are read again too (at most once per requester), so a second region
      // authorized by another instance is seen within the interval.
      const { findCredential, listCredentialsFor = 0, ...others } = Object.fromEntries(calls.byMethod);
      expect({ findCredential, others }).toEqual({ findCredential: 1, others: {} });
      expect(listCredentialsFor).toBeLessThanOrEqual(shape === 'without a region' ? paths.length : 0);
      const afterRecheck = calls.total();

      await thousandRequests(paths);
      expect(calls.total()).toBe(afterRecheck);
      expect(refreshCalls()).toBe(0);
    });
  }
});

describe('changes to the row', () => {
  it('a re-authorization in this process replaces the cached token at once', async () => {
    await start();
    await authorize('42', 'A1SANDBOXSELLER1');
    const first = json(await post('/api/customers/42/access-token?region=NA'))['access_token'];
    const exchanges = h.lwa.issuedTokens.length;
    await authorize('42', 'A1SANDBOXSELLER1'); // same seller, new refresh token
    const seeded = h.lwa.issuedTokens.slice(exchanges).find((t) => t.startsWith('Atza|'));
    expect(seeded).toBeDefined();
    expect(seeded).not.toBe(first);
    for (const path of ['/api/customers/42/access-token?region=NA', '/api/customers/42/access-token', '/api/sellers/A1SANDBOXSELLER1/access-token']) {
      expect(json(await post(path))['access_token'], path).toBe(seeded);
    }
    expect(refreshCalls()).toBe(0);
  });

  it('a region-less request asks for a region again once this process authorizes the customer in a second region', async () => {
    await start();
    await authorize('42', 'A1SANDBOXSELLER1');
    expect((await post('/api/customers/42/access-token')).status).toBe(200); // NA learned as the one region
    await authorize('42', 'A2SANDBOXSELLER2', 'DE');
    const res = await post('/api/customers/42/access-token');
    expect(res.status).toBe(400);
    expect(json(res)['error']).toBe('region_required');
  });

  it('another instance authorizing a second region is seen within ACCESS_TOKEN_RECHECK_SECONDS: region_required, not the old region', async () => {
    h = await startHarness({ ACCESS_TOKEN_RECHECK_SECONDS: '60' });
    await authorize('multi', 'A1SANDBOXSELLER1');
    const first = await api.request(`${h.origin}/api/customers/multi/access-token`, { method: 'POST' });
    expect(first.status).toBe(200);
    // Another instance stores an EU authorization for the same customer (straight into the shared file).
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(String(h.values['LOCAL_DB_PATH']));
    db.prepare(
      `INSERT INTO sp_api_credentials (customer_id, scope, region, marketplace, selling_partner_id, lwa_refresh_token, status, auth_granted_date, updated_at)
       VALUES ('multi', 'EU', 'EU', 'DE', 'A2SANDBOXSELLER2', 'v1:x:y:z:w', 'authorized', ?, ?)`,
    ).run(h.clock.now().toISOString(), h.clock.now().toISOString());
    db.close();
    h.clock.advance(61_000);
    const later = await api.request(`${h.origin}/api/customers/multi/access-token`, { method: 'POST' });
    expect(later.status).toBe(400);
    expect(JSON.parse(later.body)).toMatchObject({ error: 'region_required' });
  });

  it('evict(customerId, scope) drops the cached token in this process at once', async () => {
    await start();
    await authorize('42', 'A1SANDBOXSELLER1');
    const cached = json(await post('/api/customers/42/access-token?region=NA'))['access_token'];
    const calls = await countStoreCalls();
    expect(json(await post('/api/customers/42/access-token?region=NA'))['access_token']).toBe(cached);
    expect(calls.total()).toBe(0); // served from this process's memory
    (await h.services()).accessTokens.evict('42', 'NA');
    // Gone from memory: the next request reads the store. The row did not change, so the fleet's shared token (written
    // with the grant) still serves it, without asking LWA.
    const after = json(await post('/api/customers/42/access-token?region=NA'))['access_token'];
    expect(Object.fromEntries(calls.byMethod)).toEqual({ readAccessTokenSource: 1 });
    expect(after).toBe(cached);
    expect(refreshCalls()).toBe(0);
  });

  it('a revocation written by another instance is seen once ACCESS_TOKEN_RECHECK_SECONDS have passed', async () => {
    await start();
    await authorize('42', 'A1SANDBOXSELLER1');
    expect((await post('/api/customers/42/access-token?region=NA')).status).toBe(200);
    const { store } = await h.services();
    const row = await store.findCredential('42', 'NA');
    // Another instance found the revocation: the row changes in the shared store, not in this process's cache.
    const marked = await store.markRevoked({
      customerId: '42',
      scope: 'NA',
      expectedRefreshToken: row?.lwaRefreshToken ?? '',
      failure: { reason: 'authorization_revoked', lwaError: 'invalid_grant' },
      now: h.clock.now(),
    });
    expect(marked).toBe(true);

    h.clock.advance(RECHECK_SECONDS * 1000);
    for (const path of ['/api/customers/42/access-token?region=NA', '/api/sellers/A1SANDBOXSELLER1/access-token?region=NA', '/api/customers/42/access-token']) {
      const res = await post(path);
      expect(res.status, path).toBe(409);
      expect(json(res)['error'], path).toBe('authorization_revoked');
    }
    expect(refreshCalls()).toBe(0);
  });

  it('a seller moved to another customer by another instance is no longer served for the old customer after the recheck', async () => {
    await start();
    await authorize('42', 'A1SANDBOXSELLER1');
    expect((await post('/api/sellers/A1SANDBOXSELLER1/access-token?region=NA')).status).toBe(200);
    const { store } = await h.services();
    const row = await store.findCredential('42', 'NA');
    await store.markRevoked({
      customerId: '42',
      scope: 'NA',
      expectedRefreshToken: row?.lwaRefreshToken ?? '',
      failure: { reason: 'authorization_revoked' },
      now: h.clock.now(),
    });
    await authorize('43', 'A1SANDBOXSELLER1'); // through this process: seeds 43's entry

    h.clock.advance(RECHECK_SECONDS * 1000);
    const bySeller = await post('/api/sellers/A1SANDBOXSELLER1/access-token?region=NA');
    expect(json(bySeller)['customer_id']).toBe('43');
    expect((await post('/api/customers/42/access-token?region=NA')).status).toBe(409);
  });
});
