import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SellersClient, SPAPI_USER_AGENT } from '../../../src/spapi/sellersClient.js';

/** The SP-API Sellers client against a loopback server playing SP-API. */
interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
}
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function spApi(status: number, body: string, headers: Record<string, string> = {}): Promise<{ client: SellersClient; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  const base = `http://127.0.0.1:${port}`;
  return { client: new SellersClient({ endpoints: { NA: `${base}/na`, EU: `${base}/eu`, FE: `${base}/fe` } }), seen };
}

const OK = JSON.stringify({
  payload: [
    { marketplace: { id: 'A1PA6795UKMFR9', countryCode: 'DE', name: 'Amazon.de', defaultCurrencyCode: 'EUR' }, participation: { isParticipating: true, hasSuspendedListings: false }, storeName: 'Shop' },
    { marketplace: { id: 'A13V1IB3VIYZZH', countryCode: 'FR', name: 'Amazon.fr' }, participation: { isParticipating: false, hasSuspendedListings: false } },
  ],
});

describe('SellersClient.marketplaceParticipations', () => {
  it('an answer trickling a byte at a time is cut at the timeout: unavailable, not a sweep held up', async () => {
    const timers: NodeJS.Timeout[] = [];
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{');
      timers.push(setInterval(() => res.write(' '), 50));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    close = () => new Promise<void>((resolve) => {
      for (const timer of timers) clearInterval(timer);
      server.closeAllConnections();
      server.close(() => resolve());
    });
    const base = `http://127.0.0.1:${port}`;
    const client = new SellersClient({ endpoints: { NA: base, EU: base, FE: base }, timeoutMs: 300 });
    expect(await client.marketplaceParticipations('NA', 'Atza|token')).toMatchObject({ kind: 'unavailable' });
  });

  it("calls the region's endpoint with x-amz-access-token and a User-Agent naming the service", async () => {
    const { client, seen } = await spApi(200, OK, { 'x-amzn-RateLimit-Limit': '0.016' });
    const result = await client.marketplaceParticipations('EU', 'Atza|token');
    expect(seen.map((s) => [s.path, s.headers['x-amz-access-token'], s.headers['user-agent']])).toEqual([
      ['/eu/sellers/v1/marketplaceParticipations', 'Atza|token', SPAPI_USER_AGENT],
    ]);
    expect(result).toEqual({
      kind: 'ok',
      rateLimit: 0.016,
      participations: [
        { marketplaceId: 'A1PA6795UKMFR9', countryCode: 'DE', name: 'Amazon.de', isParticipating: true, storeName: 'Shop' },
        { marketplaceId: 'A13V1IB3VIYZZH', countryCode: 'FR', name: 'Amazon.fr', isParticipating: false, storeName: null },
      ],
    });
  });

  it('reads 403 as access_denied (a missing role), never as a revocation', async () => {
    const { client } = await spApi(403, JSON.stringify({ errors: [{ code: 'Unauthorized', message: 'Access to requested resource is denied.' }] }));
    expect(await client.marketplaceParticipations('NA', 'Atza|t')).toEqual({
      kind: 'access_denied',
      status: 403,
      detail: 'HTTP 403 Unauthorized: Access to requested resource is denied.',
    });
  });

  it('reads 429 with x-amzn-RateLimit-Limit as rate_limited, with the wait that rate implies', async () => {
    const { client } = await spApi(429, JSON.stringify({ errors: [{ code: 'QuotaExceeded' }] }), { 'x-amzn-RateLimit-Limit': '0.016' });
    expect(await client.marketplaceParticipations('NA', 'Atza|t')).toEqual({ kind: 'rate_limited', rateLimit: 0.016, retryAfterMs: 62500 });
  });

  it('reads a 200 of another shape as unavailable, never as participations', async () => {
    const { client } = await spApi(200, JSON.stringify({ payload: [{ marketplace: { id: 'X' } }] }));
    expect(await client.marketplaceParticipations('FE', 'Atza|t')).toEqual({ kind: 'unavailable', detail: 'unexpected answer shape' });
  });

  it('reads a 500 as unavailable with its status', async () => {
    const { client } = await spApi(500, 'oops');
    expect(await client.marketplaceParticipations('FE', 'Atza|t')).toEqual({ kind: 'unavailable', detail: 'HTTP 500' });
  });
});
