import { afterEach, describe, expect, it, vi } from 'vitest';
import { FORCED_REFRESH_REUSE_MS, REFRESH_AHEAD_MS } from '../../../src/accessTokens/leaseDecision.js';
import { REFRESH_MARGIN_MS } from '../../../src/accessTokens/accessTokenCache.js';
import { AccessTokenError, createAccessTokenClient } from '../../../src/library/accessTokens.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness, type HarnessOptions } from '../../support/harness.js';

/** Access tokens for Shipica's other processes, through the local host against the loopback LWA. */
let h: Harness;
afterEach(async () => {
  await h?.close();
});

async function start(overrides: Record<string, string> = {}, options: HarnessOptions = {}): Promise<Harness> {
  h = await startHarness(overrides, options);
  return h;
}

/** Authorizes `customer` in a marketplace as a browser would. */
async function authorize(customer: string, marketplace = 'US', sellingPartnerId = 'A1SANDBOXSELLER1'): Promise<void> {
  const browser = new CookieClient();
  const res = await browser.get(await h.approve(browser, customer, { marketplace, sellingPartnerId }));
  expect(res.status).toBe(200);
}

const api = new CookieClient();
const post = (path: string) => api.request(`${h.origin}${path}`, { method: 'POST' });
const json = (res: { body: string }) => JSON.parse(res.body) as Record<string, string>;
const refreshCalls = () => h.lwa.received.filter((f) => f.get('grant_type') === 'refresh_token').length;
/** Moves the clock past the seeded token's refresh margin, so the next request must refresh. */
const expireCachedTokens = () => h.clock.advance(3600_000 - REFRESH_MARGIN_MS + 1_000);

describe('AccessToken and SellerAccessToken', () => {
  it('serves the token from the code exchange, then refreshes it once it is within 5 minutes of expiry (refresh ahead)', async () => {
    await start();
    await authorize('42');
    const exchanged = h.lwa.issuedTokens.find((t) => t.startsWith('Atza|'));

    const first = await post('/api/customers/42/access-token');
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    const body = json(first);
    expect(body).toMatchObject({ access_token: exchanged, token_type: 'bearer', customer_id: '42', selling_partner_id: 'A1SANDBOXSELLER1', scope: 'NA', region: 'NA' });
    expect(Date.parse(body['expires_at'] ?? '') - h.clock.now().getTime()).toBeGreaterThan(3500_000);
    expect(refreshCalls()).toBe(0);

    h.clock.advance(3600_000 - REFRESH_AHEAD_MS - 1_000); // 5 min 1 s before expiry: still served
    expect(json(await post('/api/customers/42/access-token'))['access_token']).toBe(exchanged);
    expect(refreshCalls()).toBe(0);

    h.clock.advance(2_000); // 4 min 59 s before expiry: refreshed ahead
    const refreshed = json(await post('/api/customers/42/access-token'));
    expect(refreshed['access_token']).not.toBe(exchanged);
    expect(refreshed['access_token']).toMatch(/^Atza\|/);
    expect(refreshCalls()).toBe(1);
    const sent = h.lwa.received.find((f) => f.get('grant_type') === 'refresh_token');
    expect([...(sent?.keys() ?? [])].sort()).toEqual(['client_id', 'client_secret', 'grant_type', 'refresh_token']);

    const bySeller = await post('/api/sellers/A1SANDBOXSELLER1/access-token?region=NA');
    expect(json(bySeller)['access_token']).toBe(refreshed['access_token']);
    expect(refreshCalls()).toBe(1);
  });

  it('makes exactly one LWA call for 200 concurrent requests for one seller', async () => {
    await start();
    await authorize('42');
    expireCachedTokens();
    const { store } = await h.services();
    const lookups = vi.spyOn(store, 'listCredentialsFor');
    const reads = vi.spyOn(store, 'findCredential');
    const sources = vi.spyOn(store, 'readAccessTokenSource');
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => post(i % 2 ? '/api/customers/42/access-token?region=NA' : '/api/sellers/A1SANDBOXSELLER1/access-token?region=NA')));
    expect(results.map((r) => r.status)).toEqual(Array(200).fill(200));
    expect(new Set(results.map((r) => json(r)['access_token'])).size).toBe(1);
    expect(refreshCalls()).toBe(1);
    // Not one store read per caller either: the seller shape looks its row up (the customer shape names it), and the
    // row is read once with its shared token; the token is written back only while the row holds that credential.
    expect(lookups.mock.calls.length).toBeLessThanOrEqual(1);
    expect(reads).toHaveBeenCalledTimes(0);
    expect(sources).toHaveBeenCalledTimes(1);
  });

  it('keeps at most ACCESS_TOKEN_CACHE_SIZE tokens, dropping the least recently used', async () => {
    await start({ ACCESS_TOKEN_CACHE_SIZE: '2' });
    await authorize('c1', 'US', 'A1SANDBOXSELLER1');
    await authorize('c2', 'US', 'A2SANDBOXSELLER2');
    await post('/api/customers/c1/access-token'); // c1 used last: c2 is now the oldest
    await authorize('c3', 'US', 'A3SANDBOXSELLER3'); // evicts c2
    const { tokenCache, store } = await h.services();
    expect(tokenCache.size).toBe(2);
    const sources = vi.spyOn(store, 'readAccessTokenSource');

    await post('/api/customers/c1/access-token');
    await post('/api/customers/c3/access-token');
    expect(sources).toHaveBeenCalledTimes(0); // both still in memory
    // c2 is no longer in memory: read from the store, where the fleet's shared token (written with the grant) serves it.
    expect((await post('/api/customers/c2/access-token')).status).toBe(200);
    expect(sources).toHaveBeenCalledTimes(1);
    expect(refreshCalls()).toBe(0);
    expect(tokenCache.size).toBe(2);
  });

  it('asks for a region only when the customer has several, and validates input', async () => {
    await start();
    await authorize('42', 'US');
    await authorize('42', 'DE', 'A2SANDBOXSELLER2');
    const ambiguous = await post('/api/customers/42/access-token');
    expect(ambiguous.status).toBe(400);
    expect(json(ambiguous)).toEqual({ error: 'region_required', message: 'Customer 42 has 2 Amazon authorizations (EU, NA): name one with ?region=EU|NA.' });
    expect(json(await post('/api/customers/42/access-token?region=EU'))['selling_partner_id']).toBe('A2SANDBOXSELLER2');
    // A marketplace names its credential too (DE is EU's).
    expect(json(await post('/api/customers/42/access-token?marketplace=DE'))).toMatchObject({ selling_partner_id: 'A2SANDBOXSELLER2', scope: 'EU', region: 'EU' });
    for (const query of ['marketplace=XX', 'marketplace=DEU', 'marketplace=DE&marketplace=US', 'marketplace=DE&region=NA']) {
      const res = await post(`/api/customers/42/access-token?${query}`);
      expect(res.status, query).toBe(400);
      expect(json(res)['error'], query).toBe('invalid_request');
    }

    expect(json(await post('/api/customers/42/access-token?region=XX'))['error']).toBe('invalid_request');
    expect((await post('/api/customers/42/access-token?region=XX')).status).toBe(400);
    expect((await post('/api/sellers/A1-bad/access-token')).status).toBe(400);
    expect((await post(`/api/customers/${'x'.repeat(65)}/access-token`)).status).toBe(400);
    expect((await api.get(`${h.origin}/api/customers/42/access-token`)).status).toBe(405); // GET: a known route, another method

    const unknown = await post('/api/customers/nobody/access-token');
    expect(unknown.status).toBe(404);
    expect(json(unknown)['error']).toBe('not_authorized');
    expect((await post('/api/customers/42/access-token?region=FE')).status).toBe(404);
    expect(refreshCalls()).toBe(0);
  });

  it('marks a seller revoked on invalid_grant and answers 409 with how to re-authorize; other sellers stay authorized', async () => {
    await start();
    await authorize('revoker', 'US', 'A1SANDBOXSELLER1');
    await authorize('keeper', 'US', 'A2SANDBOXSELLER2');
    h.lwa.sandbox.revokeSeller('A1SANDBOXSELLER1');
    expireCachedTokens();

    const res = await post('/api/customers/revoker/access-token');
    expect(res.status).toBe(409);
    expect(json(res)['error']).toBe('authorization_revoked');
    expect(json(res)['message']).toContain('re-authorize');
    const { store } = await h.services();
    expect(await store.findCredential('revoker', 'NA')).toMatchObject({ status: 'revoked' });
    expect((await store.findCredential('revoker', 'NA'))?.lastError).toContain('invalid_grant');
    const audit = (await store.listAttempts({ customerId: 'revoker' })).filter((a) => a.flow === 'refresh');
    expect(audit).toMatchObject([{ outcome: 'failed', reason: 'authorization_revoked', lwaError: 'invalid_grant', region: 'NA' }]);

    expect((await post('/api/customers/keeper/access-token')).status).toBe(200);
    expect((await store.findCredential('keeper', 'NA'))?.status).toBe('authorized');

    // Known revoked: answered from the row, without asking LWA again.
    const calls = refreshCalls();
    expect((await post('/api/sellers/A1SANDBOXSELLER1/access-token?region=NA')).status).toBe(409);
    expect(refreshCalls()).toBe(calls);
  });

  it('?refresh=true skips the cached token: how a caller whose SP-API call got 401 learns of a revocation at once', async () => {
    await start();
    await authorize('42');
    const cached = json(await post('/api/customers/42/access-token'))['access_token'];
    // The exchange's token counts as the credential's last refresh: a forced refresh sooner is served it.
    h.clock.advance(FORCED_REFRESH_REUSE_MS);
    const fresh = await post('/api/customers/42/access-token?refresh=true');
    expect(json(fresh)['access_token']).not.toBe(cached);
    expect(refreshCalls()).toBe(1);
    expect(json(await post('/api/customers/42/access-token'))['access_token']).toBe(json(fresh)['access_token']);

    h.lwa.sandbox.revokeSeller('A1SANDBOXSELLER1');
    expect((await post('/api/customers/42/access-token')).status).toBe(200); // still cached: LWA is not asked
    h.clock.advance(FORCED_REFRESH_REUSE_MS); // a forced refresh sooner is served the token refreshed just now
    expect((await post('/api/customers/42/access-token?refresh=true')).status).toBe(409);
    expect((await post('/api/customers/42/access-token?refresh=maybe')).status).toBe(400);
  });

  it('treats invalid_client as an app-wide incident: 503, no seller marked, one error line for the incident however long it lasts', async () => {
    await start();
    await authorize('a', 'US', 'A1SANDBOXSELLER1');
    await authorize('b', 'US', 'A2SANDBOXSELLER2');
    h.lwa.sandbox.acceptClientSecrets('a-secret-rotated-at-amazon-that-we-do-not-have');
    expireCachedTokens();

    for (const customer of ['a', 'b', 'a']) {
      const res = await post(`/api/customers/${customer}/access-token`);
      expect(res.status).toBe(503);
      expect(json(res)['error']).toBe('lwa_client_rejected');
      expect(res.headers.get('retry-after')).toBe('30');
    }
    const { store } = await h.services();
    expect((await store.listCredentials()).map((r) => r.status)).toEqual(['authorized', 'authorized']);
    const incidents = () => h.logs.filter((l) => l.includes('"level":"error"') && l.includes('invalid_client'));
    expect(incidents()).toHaveLength(1);
    expect(incidents()[0]).toContain('incident started: ');
    expect(incidents()[0]).toContain('"incident":"lwa_client_rejected"');
    expect(incidents()[0]).toContain('rotated or has expired');
    h.clock.advance(61_000);
    expect((await post('/api/customers/b/access-token')).status).toBe(503);
    expect(incidents()).toHaveLength(1); // still the same incident: counted, not logged again
  });

  it('falls back to LWA_CLIENT_SECRET_PREVIOUS and remembers the secret that works', async () => {
    const previous = 'amzn1.oa2-cs.v1.previous-secret-still-valid-for-7-days';
    await start({ LWA_CLIENT_SECRET_PREVIOUS: previous }, { amazonClientSecret: previous });
    const current = h.secrets.clientSecret;
    await authorize('42'); // the exchange: current refused, previous accepted
    expireCachedTokens();
    expect((await post('/api/customers/42/access-token')).status).toBe(200);
    expireCachedTokens();
    expect((await post('/api/customers/42/access-token')).status).toBe(200);
    expect(h.lwa.received.map((f) => f.get('client_secret'))).toEqual([current, previous, previous, previous]);

    // Amazon retires the previous secret: the current one is tried next and kept.
    h.lwa.sandbox.acceptClientSecrets(current);
    expireCachedTokens();
    expect((await post('/api/customers/42/access-token')).status).toBe(200);
    expireCachedTokens();
    expect((await post('/api/customers/42/access-token')).status).toBe(200);
    expect(h.lwa.received.slice(4).map((f) => f.get('client_secret'))).toEqual([previous, current, current]);
  });

  it('answers 503 lwa_unavailable with Retry-After after bounded retries, and for a malformed 200', async () => {
    await start();
    await authorize('42');
    expireCachedTokens();
    const fault = { status: 500, body: JSON.stringify({ error: 'server_error' }) };
    h.lwa.fail(fault, fault, fault);
    const res = await post('/api/customers/42/access-token');
    expect(res.status).toBe(503);
    expect(json(res)['error']).toBe('lwa_unavailable');
    expect(res.headers.get('retry-after')).toBe('30');
    expect(refreshCalls()).toBe(3);

    // LWA asks for a longer pause than we hold a caller for: passed on at once, not waited out.
    h.lwa.fail({ status: 429, body: JSON.stringify({ error: 'TooManyRequests' }), headers: { 'Retry-After': '7' } });
    const throttled = await post('/api/customers/42/access-token');
    expect(throttled.status).toBe(503);
    expect(throttled.headers.get('retry-after')).toBe('7');
    expect(refreshCalls()).toBe(4);

    h.lwa.fail({ status: 200, body: '{"access_token":' });
    const malformed = await post('/api/customers/42/access-token');
    expect(malformed.status).toBe(503);
    expect(malformed.headers.get('retry-after')).toBe('30');
    expect(refreshCalls()).toBe(5);
    const { store } = await h.services();
    expect((await store.findCredential('42', 'NA'))?.status).toBe('authorized');
    expect((await post('/api/customers/42/access-token')).status).toBe(200);
  });

  it('is the same logic as a library: getAccessToken({ customerId, region | marketplace })', async () => {
    await start();
    await authorize('42', 'JP');
    const client = createAccessTokenClient(h.app);
    const token = await client.getAccessToken({ customerId: '42', region: 'FE' });
    expect(token).toMatchObject({ customerId: '42', scope: 'JP', region: 'FE', sellingPartnerId: 'A1SANDBOXSELLER1' });
    expect(token.accessToken).toMatch(/^Atza\|/);
    expect(await client.getAccessToken({ customerId: '42', marketplace: 'JP' })).toEqual(token);
    expect(await client.getSellerAccessToken({ sellingPartnerId: 'A1SANDBOXSELLER1' })).toEqual(token);
    const error = await client.getAccessToken({ customerId: 'nobody' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessTokenError);
    expect(error).toMatchObject({ code: 'not_authorized' });
  });
});
