import { afterAll, beforeAll, expect, it } from 'vitest';
import { routes } from '../../../src/http/routes.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { rawRequest, type RawAnswer } from '../../support/rawHttp.js';

/**
 * Issue 10, point 2: no caller mistake is a 5xx, and no request drops the connection. 6,000 requests generated from
 * a fixed seed (a failure names its seed index and request, so it replays), sent as bytes over loopback sockets so
 * that malformed Hosts, absolute-form targets and bad escapes really reach the host: every route and local page,
 * every method, escapes good and bad, repeated, oversized and Unicode parameters, odd and repeated headers, bodies
 * small, chunked, binary and oversized.
 */
const REQUESTS = 6_000;
const PARALLEL = 8;
const SEED = 0x5eed10;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

/** mulberry32: a small, fast, seeded PRNG (the same sequence on every run). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Generated {
  head: string;
  body: Buffer;
}

/** Route templates (path parameters as {name}) and the local pages the harness serves. */
const TARGETS: readonly string[] = [
  ...routes.map((route) => `/api/${route.route}`),
  '/',
  '/start/launch',
  '/start/access-token',
  '/start/revoke',
  '/start/oxwebapp',
  '/start/oxwebapp/continue',
  '/sandbox/sellercentral/apps/authorize/consent',
  '/sandbox/sellercentral/apps/authorize/decide',
  '/sandbox/sellercentral/apps/manage',
  '/sandbox/sellercentral/apps/login-uri',
  '/sandbox/sellercentral/na/apps/authorize/confirm',
  '/sandbox/lwa/auth/o2/token',
  '/api/nope',
  '/api/customers//access-token',
  '//evil.test/start/launch',
];

const PARAMS = [
  'customer_id', 'marketplace', 'expires', 'sig', 'state', 'selling_partner_id', 'spapi_oauth_code', 'mws_auth_token', 'region',
  'refresh', 'expiring', 'amazon_callback_uri', 'amazon_state', 'version', 'code', 'consent', 'decision', 'grant_type', 'refresh_token',
  'client_id', 'client_secret', 'redirect_uri', 'application_id',
];

function generator(random: () => number, port: number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const int = (max: number) => Math.floor(random() * max);
  const chance = (p: number) => random() < p;

  const value = (): string =>
    pick<() => string>([
      () => '42',
      () => 'US',
      () => 'NA',
      () => 'true',
      () => String(int(2 ** 31)),
      () => 'A1SANDBOXSELLER1',
      () => 'x'.repeat(1 + int(300)),
      () => 'x'.repeat(2_000 + int(6_000)), // oversized
      () => '%ZZ',
      () => '%E0%A4%A',
      () => '%ED%A0%80',
      () => '%',
      () => '%00',
      () => encodeURIComponent('Grüße 日本 🚀'),
      () => encodeURIComponent('https://sellercentral.amazon.com/apps/authorize/confirm/x'),
      () => '%2F..%2F..%2Fetc',
      () => encodeURIComponent(' 42 '),
      () => '',
      () => Array.from({ length: 1 + int(40) }, () => String.fromCharCode(33 + int(94)))
        .join('')
        .replace(/[#&=?%+ ]/g, '_'),
    ])();

  const segment = (): string =>
    pick(['42', 'A1SANDBOXSELLER1', '%ZZ', '%E0%A4%A', '%ED%A0%80', '%', '%C3%BC', encodeURIComponent('日本'), 'x'.repeat(3_000), '..', '%2F', '%00', '%20', 'a%2Fb']);

  const path = (): string => {
    const template = pick(TARGETS);
    const filled = template.replace(/\{\w+\}/g, segment);
    if (!chance(0.85)) return filled;
    const query: string[] = [];
    for (let i = int(6); i > 0; i -= 1) {
      const name = pick(PARAMS);
      query.push(`${name}=${value()}`);
      if (chance(0.15)) query.push(`${name}=${value()}`); // repeated
    }
    return query.length === 0 ? filled : `${filled}?${query.join('&')}`;
  };

  const hostHeader = (): string | undefined =>
    chance(0.9)
      ? `localhost:${port}`
      : pick([`127.0.0.1:${port}`, `[::1]:${port}`, 'attacker.example', `attacker.example:${port}`, 'a b', '[', '', 'localhost:99999', undefined, `LOCALHOST:${port}`]);

  return (): Generated => {
    const method = pick(['GET', 'GET', 'GET', 'POST', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
    let target = path();
    if (chance(0.04)) target = `http://${pick([`localhost:${port}`, 'evil.test', `127.0.0.1:${port}`])}${target.startsWith('//') ? target.slice(1) : target}`;
    const headers: string[] = [];
    const host = hostHeader();
    if (host !== undefined) headers.push(`Host: ${host}`);
    if (chance(0.02)) headers.push(`Host: localhost:${port}`); // a second Host
    if (chance(0.3)) headers.push(`Cookie: ${pick(['spapi_auth_abc=1', `spapi_auth_${'a'.repeat(12)}=${value()}`, 'a=b; a=c', ';;;', '=', 'x'.repeat(2_000)])}`);
    if (chance(0.1)) headers.push(`x-functions-key: ${value()}`);
    if (chance(0.1)) headers.push(`Accept: ${pick(['*/*', 'text/html', 'application/json;q=0.1', '\u00ff'])}`);
    if (chance(0.05)) headers.push(`X-Odd: ${'y'.repeat(int(20_000))}`); // past Node's header limit now and then
    if (chance(0.05)) headers.push('Expect: 100-continue');
    if (chance(0.05)) headers.push('Upgrade: websocket', 'Connection: Upgrade');
    else headers.push('Connection: close');

    let body: Buffer = Buffer.alloc(0);
    if (method !== 'GET' && method !== 'HEAD' && chance(0.8)) {
      body = pick<() => Buffer>([
        () => Buffer.from(`customer_id=${value()}&region=${value()}&selling_partner_id=${value()}`),
        () => Buffer.from(`grant_type=${pick(['authorization_code', 'refresh_token', 'x'])}&code=${value()}&client_id=${value()}&client_secret=${value()}`),
        () => Buffer.from(`consent=${value()}&decision=${pick(['confirm', 'cancel', value()])}`),
        () => Buffer.alloc(70_000, 0x61), // oversized
        () => Buffer.from(Array.from({ length: int(512) }, () => int(256))),
        () => Buffer.from('{"not":"a form"}'),
      ])();
      headers.push(`Content-Type: ${pick(['application/x-www-form-urlencoded', 'application/json', 'text/plain; charset=utf-16', 'multipart/form-data; boundary=x'])}`);
    }
    if (body.length > 0 && chance(0.15)) {
      // Chunked, in two chunks.
      headers.push('Transfer-Encoding: chunked');
      const half = Math.floor(body.length / 2);
      const chunk = (b: Buffer) => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);
      body = Buffer.concat([chunk(body.subarray(0, half)), chunk(body.subarray(half)), Buffer.from('0\r\n\r\n')]);
    } else if (body.length > 0 || method === 'POST') {
      headers.push(`Content-Length: ${body.length}`);
    }
    return { head: [`${method} ${target} HTTP/1.1`, ...headers].join('\r\n'), body };
  };
}

it(`${REQUESTS} generated requests over every route: none is answered 5xx, none drops its connection`, async () => {
  const next = generator(prng(SEED), h.host.port);
  const requests = Array.from({ length: REQUESTS }, next);
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  let cursor = 0;
  const worker = async () => {
    while (cursor < requests.length) {
      const index = cursor;
      cursor += 1;
      const request = requests[index] as Generated;
      const res: RawAnswer = await rawRequest(h.host.port, request.head, request.body);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const whole = res.complete;
      if (res.status === 0 || res.status >= 500 || !whole || res.error !== undefined) {
        failures.push(`#${index} ${res.status} ${res.error ?? ''} ${whole ? '' : 'incomplete'}: ${request.head.slice(0, 300).replaceAll('\r\n', ' | ')}`);
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  expect(failures.slice(0, 20)).toEqual([]);
  // The generator reached the routes' own answers, not only the host's refusals.
  expect([...statuses.keys()].filter((s) => s >= 200 && s < 400).length).toBeGreaterThan(0);
  for (const status of [200, 302, 400, 404, 405, 413]) expect(statuses.get(status) ?? 0, `answers with ${status}`).toBeGreaterThan(0);
}, 60_000);
