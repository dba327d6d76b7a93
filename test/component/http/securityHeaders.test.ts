import { afterAll, beforeAll, expect, it } from 'vitest';
import { consoleLogger } from '../../../src/logging/logging.js';
import { startLocalHost, type RunningHost } from '../../../src/http/localHost.js';
import { routes } from '../../../src/http/routes.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { hostRequest, registerFunctions, type RegisteredFunctions } from '../../support/functionsHost.js';
import { rawRequest, type RawAnswer } from '../../support/rawHttp.js';

/**
 * README: every response sets Cache-Control: no-store, Referrer-Policy: no-referrer, X-Content-Type-Options: nosniff
 * and a Content-Security-Policy. Checked over every route and page, every kind of answer (page, JSON, redirect, 400,
 * 401, 404, 405, 413, an unparsable request), under the local host and under the Functions host.
 */
let h: Harness;
let keyed: RunningHost;
let f: RegisteredFunctions;

beforeAll(async () => {
  h = await startHarness();
  keyed = await startLocalHost({ app: h.app, logger: consoleLogger(() => undefined), port: 0, keys: { function: 'fk-0123456789', admin: 'ak-0123456789' } });
  f = await registerFunctions();
});
afterAll(async () => {
  await keyed.close();
  await h.close();
  await f.close();
});

function missingHeaders(headers: (name: string) => string | null | undefined): string[] {
  const expected: Record<string, RegExp> = {
    'cache-control': /^no-store$/,
    'referrer-policy': /^no-referrer$/,
    'x-content-type-options': /^nosniff$/,
    'content-security-policy': /default-src 'none'.*frame-ancestors 'none'/,
  };
  return Object.entries(expected)
    .filter(([name, pattern]) => !pattern.test(headers(name) ?? ''))
    .map(([name]) => name);
}

it('every local-host response, whatever the route and outcome, carries the security headers', async () => {
  const port = h.host.port;
  const ask = (method: string, path: string, extra: string[] = [], body = '', at = port) =>
    rawRequest(at, [`${method} ${path} HTTP/1.1`, `Host: localhost:${at}`, 'Connection: close', `Content-Length: ${Buffer.byteLength(body)}`, ...extra].join('\r\n'), body);
  const requests: Array<[string, () => Promise<RawAnswer>]> = [];
  // Every route of the table with its own method and with another one.
  for (const route of routes) {
    const path = `/api/${route.route.replace('{customerId}', '42').replace('{sellingPartnerId}', 'A1SELLER')}`;
    for (const method of route.methods) requests.push([`${method} ${path}`, () => ask(method, path)]);
    requests.push([`DELETE ${path}`, () => ask('DELETE', path)]);
    if (route.authLevel !== 'anonymous') requests.push([`${route.methods[0]} ${path} without its key`, () => ask(route.methods[0] ?? 'GET', path, [], '', keyed.port)]);
  }
  // Every local page (the harness serves them all), and the redirect the signer answers.
  for (const path of ['/', '/start/launch?customer_id=1&marketplace=US', '/start/oxwebapp', '/sandbox/sellercentral/apps/manage', '/sandbox/sellercentral/apps/authorize/consent']) {
    requests.push([`GET ${path}`, () => ask('GET', path)]);
  }
  for (const path of ['/start/access-token', '/start/revoke', '/sandbox/lwa/auth/o2/token', '/sandbox/sellercentral/apps/authorize/decide']) {
    requests.push([`POST ${path}`, () => ask('POST', path, ['Content-Type: application/x-www-form-urlencoded'], 'a=1')]);
  }
  requests.push(
    ['a 404', () => ask('GET', '/nothing-here')],
    ['a bad escape', () => ask('POST', '/api/customers/%ZZ/access-token')],
    ['a foreign Host', () => rawRequest(port, 'GET /api/health HTTP/1.1\r\nHost: attacker.example\r\nConnection: close')],
    ['an oversized body', () => ask('POST', '/start/access-token', [], 'x'.repeat(70_000))],
    ['an unparsable request line', () => rawRequest(port, 'GET /\u00e9 HTTP/1.1\r\nHost: localhost')],
    ['CONNECT', () => rawRequest(port, `CONNECT localhost:${port} HTTP/1.1\r\nHost: localhost:${port}`)],
  );
  const failures: string[] = [];
  for (const [name, send] of requests) {
    const res = await send();
    const missing = missingHeaders((header) => res.headers[header]);
    if (res.status === 0 || missing.length > 0) failures.push(`${name} (${res.status}): ${missing.join(', ')}`);
  }
  expect(failures).toEqual([]);
  expect(requests.length).toBeGreaterThan(25);
});

it('every registered Azure function answers with the security headers', async () => {
  const origin = 'https://spapi-auth.example.net';
  const failures: string[] = [];
  for (const route of routes) {
    const path = route.route.replace('{customerId}', '42').replace('{sellingPartnerId}', 'A1SELLER');
    const params: Record<string, string> = route.route.includes('{customerId}') ? { customerId: '42' } : route.route.includes('{sellingPartnerId}') ? { sellingPartnerId: 'A1SELLER' } : {};
    const response = await f.invoke(route.name, hostRequest(route.methods[0] ?? 'GET', `${origin}/api/${path}`, { params }));
    const headers = new Headers(response.headers as Record<string, string>);
    const missing = missingHeaders((name) => headers.get(name));
    if (missing.length > 0) failures.push(`${route.name} (${response.status}): ${missing.join(', ')}`);
  }
  expect(failures).toEqual([]);
});
