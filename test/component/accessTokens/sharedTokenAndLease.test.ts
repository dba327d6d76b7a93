import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { FORCED_REFRESH_REUSE_MS, REFRESH_AHEAD_MS } from '../../../src/accessTokens/leaseDecision.js';
import { credentialGeneration, type CredentialStore } from '../../../src/credentials/index.js';
import { App, type Services } from '../../../src/app.js';
import { parseKeyRing, TokenCipher } from '../../../src/crypto/tokenCipher.js';
import { consoleLogger } from '../../../src/logging/logging.js';
import { startLocalHost, type RunningHost } from '../../../src/http/localHost.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';

/**
 * The access token shared by the fleet (sp_api_access_tokens) and its refresh lease, between two instances in this
 * process: the harness's host (A) and a second App with its own host over the same SQLite file (B), both against
 * the loopback LWA. The OS-process fleet is test/component/accessTokens/oneRefreshAcrossProcesses.test.ts.
 */
let h: Harness;
let b: { app: App; host: RunningHost; services: Services } | undefined;
afterEach(async () => {
  await b?.host.close();
  await b?.app.close();
  b = undefined;
  await h?.close();
});

/** `clockSleep`: both instances' pauses (lease polls) move the shared test clock instead of waiting on a timer. */
async function start(overrides: Record<string, string> = {}, { clockSleep = false } = {}): Promise<void> {
  h = await startHarness({ LWA_TIMEOUT_MS: '5000', ...overrides }, { clockSleep });
  const logger = consoleLogger(() => undefined);
  const clock = h.clock;
  const sleep = async (ms: number): Promise<void> => clock.advance(ms);
  const app = new App({
    values: h.values,
    environment: { inAzure: false },
    logger,
    clock,
    lwaRetry: { maxAttempts: 1, baseDelayMs: 5, maxDelayMs: 5 },
    ...(clockSleep ? { sleep } : {}),
  });
  const state = await app.state();
  if (!state.ok) throw new Error(state.problems.join('; '));
  b = { app, host: await startLocalHost({ app, logger, port: 0 }), services: state.services };
}

async function authorize(customer: string, sellingPartnerId = 'A1SANDBOXSELLER1'): Promise<void> {
  const browser = new CookieClient();
  const res = await browser.get(await h.approve(browser, customer, { sellingPartnerId }));
  expect(res.status).toBe(200);
}

const api = new CookieClient();
const onA = (path: string) => api.request(`${h.origin}${path}`, { method: 'POST' });
const onB = (path: string) => api.request(`${b?.host.url ?? ''}${path}`, { method: 'POST' });
const json = (res: { body: string }) => JSON.parse(res.body) as Record<string, string>;
const tokenOf = (res: { body: string }) => json(res)['access_token'];
const refreshCalls = () => h.lwa.received.filter((f) => f.get('grant_type') === 'refresh_token').length;
const TOKEN = '/api/customers/42/access-token?region=NA';
/** Past the exchanged token's life: the next request anywhere must refresh. */
const expireEverything = () => h.clock.advance(3600_000);

/** Counts every call made on a store instance (each is one round trip on SQL Server). */
function countStoreCalls(store: CredentialStore): Map<string, number> {
  const byMethod = new Map<string, number>();
  const target = store as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(store) as object)) {
    const original = target[name];
    if (name === 'constructor' || typeof original !== 'function') continue;
    target[name] = (...args: unknown[]) => {
      byMethod.set(name, (byMethod.get(name) ?? 0) + 1);
      return (original as (...a: unknown[]) => unknown).apply(store, args);
    };
  }
  return byMethod;
}

/** Another instance holds the lease of (42, NA), as one in the middle of a refresh does. */
async function leaseHeldElsewhere(forMs: number): Promise<string> {
  const owner = 'p1-elsewhere.1';
  const { store } = await h.services();
  const now = h.clock.now();
  expect(await store.claimAccessTokenLease({ customerId: '42', scope: 'NA', owner, now, until: new Date(now.getTime() + forMs) })).toBe(true);
  return owner;
}

describe('the shared access token', () => {
  it('a token one instance refreshed is served by another from the shared row: 1 store round trip, no LWA call', async () => {
    await start();
    await authorize('42');
    expireEverything();
    const refreshed = tokenOf(await onA(TOKEN));
    expect(refreshCalls()).toBe(1);

    const calls = countStoreCalls(b?.services.store ?? (await h.services()).store);
    expect(tokenOf(await onB(TOKEN))).toBe(refreshed);
    expect(Object.fromEntries(calls)).toEqual({ readAccessTokenSource: 1 });
    expect(refreshCalls()).toBe(1);
  });

  it('a token in the process cache costs no store round trip', async () => {
    await start();
    await authorize('42');
    expireEverything();
    await onA(TOKEN);
    await onB(TOKEN);
    const calls = countStoreCalls(b?.services.store ?? (await h.services()).store);
    for (let i = 0; i < 20; i++) expect((await onB(TOKEN)).status).toBe(200);
    expect(Object.fromEntries(calls)).toEqual({});
  });

  it('is stored sealed: the row holds a TokenCipher envelope, never the token', async () => {
    await start();
    await authorize('42');
    expireEverything();
    const token = tokenOf(await onA(TOKEN)) ?? '';
    const source = await (await h.services()).store.readAccessTokenSource('42', 'NA');
    expect(source?.shared?.accessToken).toMatch(/^v1:test1:/);
    expect(source?.shared?.accessToken).not.toContain(token);
  });

  it('a re-authorized credential is never served the shared token of the old generation', async () => {
    await start();
    await authorize('42');
    expireEverything();
    const old = tokenOf(await onA(TOKEN));
    const issuedBefore = h.lwa.issuedTokens.length;
    await authorize('42'); // same seller, new refresh token: a new generation
    // The re-authorization's exchange wrote its access token as the new generation's shared token, in its grant.
    const exchanged = h.lwa.issuedTokens.slice(issuedBefore).find((t) => t.startsWith('Atza|'));
    expect(exchanged).toBeDefined();
    const afterReauthorization = await onB(TOKEN);
    expect(afterReauthorization.status).toBe(200);
    expect(tokenOf(afterReauthorization)).not.toBe(old);
    expect(tokenOf(afterReauthorization)).toBe(exchanged);
    expect(refreshCalls()).toBe(1);
  });

  it('a revoked credential is answered 409 by an instance with a cold cache, never with the shared token', async () => {
    await start();
    await authorize('42');
    expireEverything();
    expect((await onA(TOKEN)).status).toBe(200);
    const { store } = await h.services();
    const row = await store.findCredential('42', 'NA');
    await store.markRevoked({ customerId: '42', scope: 'NA', expectedRefreshToken: row?.lwaRefreshToken ?? '', failure: { reason: 'authorization_revoked' }, now: h.clock.now() });
    const res = await onB(TOKEN);
    expect(res.status).toBe(409);
    expect(json(res)['error']).toBe('authorization_revoked');
  });
});

describe('a shared token that does not decrypt', () => {
  it('is a miss, not an error: sealed under a key no longer configured, it is refreshed and replaced (why tokens:reencrypt skips the table)', async () => {
    await start();
    await authorize('42');
    expireEverything();
    const owner = await leaseHeldElsewhere(30_000);
    const { store } = await h.services();
    const row = await store.findCredential('42', 'NA');
    const ring = parseKeyRing(`retired:${randomBytes(32).toString('base64')}`);
    if (!ring.ok) throw new Error(ring.problem);
    const underRetiredKey = new TokenCipher(ring.keys).encrypt('Atza|sealed-under-a-retired-key', { column: 'access_token', customerId: '42', region: 'NA' });
    expect(
      await store.storeSharedAccessToken({
        customerId: '42',
        scope: 'NA',
        owner,
        generation: credentialGeneration({ status: 'authorized', sellingPartnerId: 'A1SANDBOXSELLER1', lwaRefreshToken: row?.lwaRefreshToken ?? null }),
        sellingPartnerId: 'A1SANDBOXSELLER1',
        expectedRefreshToken: row?.lwaRefreshToken ?? '',
        accessToken: underRetiredKey,
        expiresAt: new Date(h.clock.now().getTime() + 3600_000),
        now: h.clock.now(),
      }),
    ).toBe(true);
    const res = await onB(TOKEN);
    expect(res.status).toBe(200);
    expect(tokenOf(res)).toMatch(/^Atza\|/);
    expect(tokenOf(res)).not.toBe('Atza|sealed-under-a-retired-key');
    expect(refreshCalls()).toBe(1);
    expect((await store.readAccessTokenSource('42', 'NA'))?.shared?.accessToken).toMatch(/^v1:test1:/);
  });
});

describe('the refresh lease', () => {
  it('a request that finds another instance refreshing waits and is served the token that instance writes, without asking LWA', async () => {
    await start();
    await authorize('42');
    expireEverything();
    const owner = await leaseHeldElsewhere(30_000);
    // B's reads of the shared row: the second one is B polling, i.e. waiting for the lease holder.
    const storeB = b?.services.store;
    if (storeB === undefined) throw new Error('no instance B');
    let readsByB = 0;
    const read = storeB.readAccessTokenSource.bind(storeB);
    storeB.readAccessTokenSource = async (customerId, scope) => {
      const source = await read(customerId, scope);
      readsByB++;
      return source;
    };
    const waiting = onB(TOKEN);
    while (readsByB < 2) await new Promise((done) => setTimeout(done, 5));
    const { store, cipher } = await h.services();
    const row = await store.findCredential('42', 'NA');
    const written = await store.storeSharedAccessToken({
      customerId: '42',
      scope: 'NA',
      owner,
      generation: credentialGeneration({ status: 'authorized', sellingPartnerId: 'A1SANDBOXSELLER1', lwaRefreshToken: row?.lwaRefreshToken ?? null }),
      sellingPartnerId: 'A1SANDBOXSELLER1',
      expectedRefreshToken: row?.lwaRefreshToken ?? '',
      accessToken: cipher.encrypt('Atza|written-by-the-lease-holder', { column: 'access_token', customerId: '42', region: 'NA' }),
      expiresAt: new Date(h.clock.now().getTime() + 3600_000),
      now: h.clock.now(),
    });
    expect(written).toBe(true);
    expect(tokenOf(await waiting)).toBe('Atza|written-by-the-lease-holder');
    expect(refreshCalls()).toBe(0);
  });

  it('a lease holder that never writes: the waiter answers 503 refresh_in_progress with Retry-After, and does not ask LWA', async () => {
    await start({ ACCESS_TOKEN_LEASE_SECONDS: '1' }, { clockSleep: true });
    await authorize('42');
    expireEverything();
    await leaseHeldElsewhere(60_000);
    const res = await onB(TOKEN);
    expect(res.status).toBe(503);
    expect(json(res)['error']).toBe('refresh_in_progress');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refreshCalls()).toBe(0);
  });

  it('a lease whose owner died is taken over once it expires: one refresh, 200', async () => {
    await start({}, { clockSleep: true });
    await authorize('42');
    expireEverything();
    await leaseHeldElsewhere(1_000);
    const res = await onB(TOKEN);
    expect(res.status).toBe(200);
    expect(refreshCalls()).toBe(1);
  });

  it('with under 5 minutes left, the first instance refreshes ahead while another keeps serving the current token', async () => {
    await start();
    await authorize('42');
    expireEverything();
    const first = tokenOf(await onA(TOKEN));
    h.clock.advance(3600_000 - REFRESH_AHEAD_MS + 10_000); // 4 min 50 s left
    // LWA answers A's refresh only once B has answered: the refresh is in flight all the while.
    let bAnswered = (): void => undefined;
    h.lwa.fail({ heldUntil: new Promise<void>((resolve) => (bAnswered = resolve)) });
    const ahead = onA(TOKEN);
    while (refreshCalls() < 2) await new Promise((done) => setTimeout(done, 5));
    expect(tokenOf(await onB(TOKEN))).toBe(first); // A holds the lease: B serves the current token
    bAnswered();
    const refreshed = tokenOf(await ahead);
    expect(refreshed).not.toBe(first);
    expect(tokenOf(await onB(TOKEN))).toBe(refreshed); // under 5 minutes in B's cache: B reads the shared row again
    expect(refreshCalls()).toBe(2);
  });
});

describe('?refresh=true through the lease', () => {
  it('20 concurrent and then 20 sequential forced refreshes over two instances cost 1 LWA call', async () => {
    await start();
    await authorize('42');
    h.clock.advance(FORCED_REFRESH_REUSE_MS); // the exchange's token is the last refresh: sooner, a forced refresh is served it
    const forced = `${TOKEN}&refresh=true`;
    const concurrent = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? onA(forced) : onB(forced))));
    expect(concurrent.map((r) => r.status)).toEqual(Array(20).fill(200));
    for (let i = 0; i < 20; i++) expect((await (i % 2 ? onA(forced) : onB(forced))).status).toBe(200);
    expect(new Set(concurrent.map(tokenOf)).size).toBe(1);
    expect(refreshCalls()).toBe(1);
  });

  it('a forced refresh once the last refresh is a minute old asks LWA again', async () => {
    await start();
    await authorize('42');
    h.clock.advance(FORCED_REFRESH_REUSE_MS); // past the exchange's token, which counts as the last refresh
    const first = tokenOf(await onA(`${TOKEN}&refresh=true`));
    expect(refreshCalls()).toBe(1);
    h.clock.advance(FORCED_REFRESH_REUSE_MS);
    const second = tokenOf(await onB(`${TOKEN}&refresh=true`));
    expect(second).not.toBe(first);
    expect(refreshCalls()).toBe(2);
  });
});

describe('a lease holder refused with invalid_grant', () => {
  it('records the revocation before giving the lease up: a waiting instance answers 409 without asking LWA with the refused token', async () => {
    await start();
    await authorize('42');
    expireEverything();
    h.lwa.sandbox.revokeSeller('A1SANDBOXSELLER1');
    // A's refresh is in flight while B arrives: LWA answers it once B has read the shared row.
    let bArrived = (): void => undefined;
    h.lwa.fail({ heldUntil: new Promise<void>((resolve) => (bArrived = resolve)) });

    // A's revocation waits until B has polled twice after it began (or B takes the lease): the window in which a
    // lease given up before the revocation is recorded would let B ask LWA again.
    const storeA = (await h.services()).store;
    const storeB = b?.services.store;
    if (storeB === undefined || storeB === storeA) throw new Error('B needs its own store instance');
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let revoking = false;
    let readsWhileRevoking = 0;
    const markRevoked = storeA.markRevoked.bind(storeA);
    storeA.markRevoked = async (input) => {
      revoking = true;
      await gate;
      return markRevoked(input);
    };
    const read = storeB.readAccessTokenSource.bind(storeB);
    storeB.readAccessTokenSource = async (customerId, scope) => {
      const source = await read(customerId, scope);
      bArrived();
      if (revoking && ++readsWhileRevoking >= 2) openGate();
      return source;
    };
    const claim = storeB.claimAccessTokenLease.bind(storeB);
    storeB.claimAccessTokenLease = async (input) => {
      const claimed = await claim(input);
      openGate();
      return claimed;
    };

    const onAnswer = onA(TOKEN);
    while (refreshCalls() < 1) await new Promise((done) => setTimeout(done, 5));
    const onBAnswer = await onB(TOKEN);
    expect((await onAnswer).status).toBe(409);
    expect(onBAnswer.status).toBe(409);
    expect(json(onBAnswer)['error']).toBe('authorization_revoked');
    expect(refreshCalls()).toBe(1);
  });
});

describe('a lease holder whose token write fails', () => {
  it('gives the lease up, so another instance can refresh at once instead of waiting for the lease to expire', async () => {
    await start();
    await authorize('42');
    expireEverything();
    const { store } = await h.services();
    const write = store.storeSharedAccessToken.bind(store);
    let failures = 0;
    store.storeSharedAccessToken = async (input) => {
      if (failures++ === 0) throw new Error('SQLITE_BUSY: database is locked');
      return write(input);
    };
    const res = await onA(TOKEN);
    expect(res.status).toBe(503);
    expect(json(res)['error']).toBe('storage_unavailable');
    expect((await store.readAccessTokenSource('42', 'NA'))?.shared?.leaseOwner).toBeNull();
  });
});
