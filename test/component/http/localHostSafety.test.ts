import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SettingValues } from '../../../src/config/settingReader.js';
import { App } from '../../../src/app.js';
import { wireLocalHost } from '../../../src/cli/start.js';
import { parseAllowedHosts, type RunningHost } from '../../../src/http/localHost.js';
import { consoleLogger } from '../../../src/logging/logging.js';
import { sandboxEnvironment } from '../../../src/sandbox/sandboxSettings.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { rawRequest } from '../../support/rawHttp.js';

/**
 * Issue 10, points 1 and 2: `npm start` with real settings attacked from loopback. The host is wired as `npm start`
 * wires it (wireLocalHost) over the harness's app: real (non-sandbox) settings, a temp SQLite file, a loopback LWA.
 */
let h: Harness;
const quiet = consoleLogger(() => undefined);
const FUNCTION_KEY = 'local-function-key-0123456789';
const ADMIN_KEY = 'local-admin-key-0123456789';
const hosts: RunningHost[] = [];

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  for (const host of hosts) await host.close();
  await h.close();
});

/** The local host as `npm start` serves it with real settings (`configured` added to the harness's). */
async function realHost(configured: SettingValues = {}): Promise<RunningHost> {
  const wired = await wireLocalHost({ app: h.app, state: await h.app.state(), configured: { ...h.values, ...configured }, sandbox: undefined, port: 0, logger: quiet });
  if (!wired.ok) throw new Error(wired.problem);
  hosts.push(wired.host);
  return wired.host;
}

const get = (host: RunningHost, target: string, headers: string[] = []) =>
  rawRequest(host.port, [`GET ${target} HTTP/1.1`, `Host: localhost:${host.port}`, 'Connection: close', ...headers].join('\r\n'));
const post = (host: RunningHost, target: string, headers: string[] = [], body = '') =>
  rawRequest(
    host.port,
    [`POST ${target} HTTP/1.1`, `Host: localhost:${host.port}`, 'Connection: close', `Content-Length: ${Buffer.byteLength(body)}`, 'Content-Type: application/x-www-form-urlencoded', ...headers].join('\r\n'),
    body,
  );

describe('sandbox tools exist only in sandbox mode', () => {
  it.each([
    ['the start page', 'GET', '/'],
    ['the launch-link signer', 'GET', '/start/launch?customer_id=anyone&marketplace=US'],
    ['the Appstore link signer', 'GET', '/start/oxwebapp/continue?customer_id=anyone&marketplace=US&amazon_callback_uri=x&amazon_state=y&selling_partner_id=A1'],
    ['the oxWebApp stand-in', 'GET', '/start/oxwebapp'],
    ['the access-token helper', 'POST', '/start/access-token'],
    ['the revoke helper', 'POST', '/start/revoke'],
    ['the sandbox consent page', 'GET', '/sandbox/sellercentral/apps/authorize/consent'],
    ['the sandbox LWA', 'POST', '/sandbox/lwa/auth/o2/token'],
  ])('with real settings, %s is 404', async (_name, method, path) => {
    const host = await realHost();
    const res = method === 'GET' ? await get(host, path) : await post(host, path, [], 'customer_id=anyone&region=NA');
    expect(res.status).toBe(404);
    expect(res.headers['location']).toBeUndefined();
  });

  it('in sandbox mode the start page is served', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-wiring-'));
    const sandbox = sandboxEnvironment({ LOCAL_DB_PATH: join(dir, 'local.sqlite') }, 'http://localhost:7071', join(dir, 'sandbox-secrets.json'));
    const app = new App({ values: sandbox.values, environment: { inAzure: false }, logger: quiet });
    const wired = await wireLocalHost({ app, state: await app.state(), configured: {}, sandbox, port: 0, logger: quiet });
    if (!wired.ok) throw new Error(wired.problem);
    try {
      const res = await get(wired.host, '/');
      expect(res.status).toBe(200);
      expect(res.body).toContain('Authorize Shipica');
    } finally {
      await wired.host.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Host allow-list', () => {
  it.each([
    ['a foreign name with the port (DNS rebinding)', (port: number) => `attacker.example:${port}`],
    ['a foreign name without a port', () => 'attacker.example'],
    ['localhost on another port', (port: number) => `localhost:${port === 1 ? 2 : 1}`],
  ])('refuses %s with 400 on every kind of route', async (_name, hostFor) => {
    const host = await realHost();
    for (const path of ['/api/health', '/api/credentials', '/api/authorize?customer_id=1', '/']) {
      const res = await rawRequest(host.port, [`GET ${path} HTTP/1.1`, `Host: ${hostFor(host.port)}`, 'Connection: close'].join('\r\n'));
      expect(res.status, path).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ error: 'host_not_allowed' });
    }
  });

  it.each(['localhost', '127.0.0.1', '[::1]'])('answers %s with the host’s port', async (name) => {
    const host = await realHost();
    const res = await rawRequest(host.port, [`GET /api/health HTTP/1.1`, `Host: ${name}:${host.port}`, 'Connection: close'].join('\r\n'));
    expect(res.status).toBe(200);
  });

  it('answers a name LOCAL_ALLOWED_HOSTS adds, with or without the port', async () => {
    const host = await realHost({ LOCAL_ALLOWED_HOSTS: 'tunnel.example, other.example:8443' });
    for (const name of ['tunnel.example', `tunnel.example:${host.port}`, 'other.example:8443']) {
      const res = await rawRequest(host.port, [`GET /api/health HTTP/1.1`, `Host: ${name}`, 'Connection: close'].join('\r\n'));
      expect(res.status, name).toBe(200);
    }
  });

  it('refuses a malformed LOCAL_ALLOWED_HOSTS with a message naming it', () => {
    expect(parseAllowedHosts('good.example, bad host')).toEqual({ ok: false, problem: expect.stringContaining('LOCAL_ALLOWED_HOSTS') });
  });

  it.each([
    ['a b', 'Host: a b'],
    ['[', 'Host: ['],
    ['empty', 'Host:'],
    ['port 99999', 'Host: localhost:99999'],
    ['absent', ''],
    ['repeated', 'Host: localhost:PORT\r\nHost: localhost:PORT'],
  ])('a Host header that is %s is 400 on any route, never 500', async (_name, header) => {
    const host = await realHost();
    for (const path of ['/api/health', '/api/customers/42/access-token', '/api/nope']) {
      const lines = [`GET ${path} HTTP/1.1`, ...(header === '' ? [] : [header.replaceAll('PORT', String(host.port))]), 'Connection: close'];
      const res = await rawRequest(host.port, lines.join('\r\n'));
      expect(res.status, path).toBe(400);
      expect(res.complete).toBe(true);
    }
  });
});

describe('cross-site requests', () => {
  it('refuses a POST whose Origin is another site (a web page posting a form to localhost) with 403, and LWA is never asked', async () => {
    const host = await realHost();
    const browser = new CookieClient();
    expect((await browser.get(await h.approve(browser, 'origin-1', { sellingPartnerId: 'A2SANDBOXSELLER2' }))).status).toBe(200);
    const before = h.lwa.received.length;
    const otherPort = `http://localhost:${host.port === 1 ? 2 : 1}`;
    for (const headers of [
      ['Origin: http://evil.test'],
      [`Origin: ${otherPort}`],
      ['Origin: null', 'Sec-Fetch-Site: cross-site'],
      [`Origin: http://localhost:${host.port}`, 'Sec-Fetch-Site: same-site'],
    ]) {
      const res = await post(host, '/api/customers/origin-1/access-token?region=NA&refresh=true', headers);
      expect(res.status, headers.join()).toBe(403);
      expect(JSON.parse(res.body), headers.join()).toMatchObject({ error: 'origin_not_allowed' });
    }
    expect(h.lwa.received.length).toBe(before);
    expect((await post(host, '/api/customers/origin-1/access-token?region=NA')).status).toBe(200);
  });

  it('lets a POST from the host’s own pages, or without Origin (curl, services), reach the route', async () => {
    const host = await realHost();
    // Origin null + same-origin is what Chromium sends for our own pages' forms (Referrer-Policy: no-referrer).
    for (const headers of [[`Origin: http://localhost:${host.port}`], [`Origin: http://127.0.0.1:${host.port}`], ['Origin: null', 'Sec-Fetch-Site: same-origin'], []]) {
      const res = await post(host, '/api/customers/nobody/access-token?region=NA', headers);
      expect(res.status, headers.join()).toBe(404);
    }
  });
});

describe('redirects never follow the request’s own host or path', () => {
  it('a path starting with // is a path, not a host: 404 and no redirect', async () => {
    const host = await realHost();
    const res = await get(host, '//evil.test/start/launch?customer_id=1&marketplace=US');
    expect(res.status).toBe(404);
    expect(res.headers['location']).toBeUndefined();
  });

  it('an absolute-form request line naming another host is 400', async () => {
    const host = await realHost();
    const res = await get(host, 'http://evil.test/api/authorize?customer_id=1');
    expect(res.status).toBe(400);
    expect(res.headers['location']).toBeUndefined();
  });

  it('in the sandbox, //evil.test/start/launch is 404, and the launch link points at the host’s own origin', async () => {
    // The harness serves the sandbox pages: the signer exists there, and still signs only for this host.
    const port = h.host.port;
    const sneaky = await rawRequest(port, [`GET //evil.test/start/launch?customer_id=1&marketplace=US HTTP/1.1`, `Host: localhost:${port}`, 'Connection: close'].join('\r\n'));
    expect(sneaky.status).toBe(404);
    expect(sneaky.headers['location']).toBeUndefined();
    const absolute = await rawRequest(port, [`GET http://127.0.0.1:${port}/start/launch?customer_id=1&marketplace=US HTTP/1.1`, `Host: evil.test`, 'Connection: close'].join('\r\n'));
    expect(absolute.status).toBe(302);
    expect(new URL(absolute.headers['location'] ?? '').origin).toBe(`http://localhost:${port}`);
  });
});

describe('function and admin keys, when set', () => {
  const token = '/api/customers/42/access-token?region=NA';

  it('an access-token request without a key is 401', async () => {
    const host = await realHost({ LOCAL_FUNCTION_KEY: FUNCTION_KEY, LOCAL_ADMIN_KEY: ADMIN_KEY });
    const res = await post(host, token);
    expect(res.status).toBe(401);
    expect(res.body).not.toContain(FUNCTION_KEY);
  });

  it('an access-token request with a wrong key is 401', async () => {
    const host = await realHost({ LOCAL_FUNCTION_KEY: FUNCTION_KEY, LOCAL_ADMIN_KEY: ADMIN_KEY });
    expect((await post(host, token, ['x-functions-key: wrong'])).status).toBe(401);
  });

  it.each([
    ['the function key in x-functions-key', [`x-functions-key: ${FUNCTION_KEY}`], token],
    ['the function key as ?code=', [], `${token}&code=${FUNCTION_KEY}`],
    ['the admin key', [`x-functions-key: ${ADMIN_KEY}`], token],
  ])('an access-token request with %s reaches the function', async (_name, headers, target) => {
    const host = await realHost({ LOCAL_FUNCTION_KEY: FUNCTION_KEY, LOCAL_ADMIN_KEY: ADMIN_KEY });
    const res = await post(host, target, headers);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'not_authorized' });
  });

  it('the credentials list takes only the admin key', async () => {
    const host = await realHost({ LOCAL_FUNCTION_KEY: FUNCTION_KEY, LOCAL_ADMIN_KEY: ADMIN_KEY });
    expect((await get(host, '/api/credentials')).status).toBe(401);
    expect((await get(host, '/api/credentials', [`x-functions-key: ${FUNCTION_KEY}`])).status).toBe(401);
    expect((await get(host, `/api/credentials?code=${ADMIN_KEY}`)).status).toBe(200);
  });

  it('anonymous functions need no key', async () => {
    const host = await realHost({ LOCAL_FUNCTION_KEY: FUNCTION_KEY, LOCAL_ADMIN_KEY: ADMIN_KEY });
    expect((await get(host, '/api/health')).status).toBe(200);
  });

  it('with only a function key set, the credentials list is closed (no admin key matches)', async () => {
    const host = await realHost({ LOCAL_FUNCTION_KEY: FUNCTION_KEY });
    expect((await get(host, `/api/credentials?code=${FUNCTION_KEY}`)).status).toBe(401);
  });

  it('without keys set, keys are not asked for', async () => {
    const host = await realHost();
    expect((await post(host, token)).status).toBe(404);
  });
});

describe('4xx for the caller’s mistakes', () => {
  it.each(['%ZZ', '%E0%A4%A', '%ED%A0%80', '%'])('a path parameter %s (a malformed escape) is 400 invalid_request', async (segment) => {
    const host = await realHost();
    const res = await post(host, `/api/customers/${segment}/access-token`);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'invalid_request' });
  });

  it('a malformed percent-escape in a customer id, sent with fetch to the sandbox host, is answered 4xx (never 500)', async () => {
    const res = await new CookieClient().request(`${h.origin}/api/customers/%E0%A4%A/access-token?region=NA`, { method: 'POST' });
    expect(res.status).toBeLessThan(500);
    expect(res.status).toBeGreaterThanOrEqual(400);
  });

  it('a 70,000-byte body is 413, answered whole on a connection still open', async () => {
    const res = await post(h.host, '/start/access-token', [], `customer_id=${'x'.repeat(70_000)}`);
    expect(res.status).toBe(413);
    expect(res.complete).toBe(true);
    expect(res.error).toBeUndefined();
  });

  it('a body declared larger than the limit is 413 too', async () => {
    const host = await realHost();
    const res = await post(host, '/api/customers/42/access-token', [], 'x'.repeat(65 * 1024));
    expect(res.status).toBe(413);
  });

  it('a 5 MiB body is 413 with the security headers, answered whole, not a dropped connection', async () => {
    const host = await realHost();
    const size = 5 * 1024 * 1024;
    const head = [`POST /api/customers/42/access-token HTTP/1.1`, `Host: localhost:${host.port}`, `Content-Length: ${size}`, 'Connection: close'].join('\r\n');
    const res = await rawRequest(host.port, head, Buffer.alloc(size, 0x61));
    expect(res.status).toBe(413);
    expect(res.complete).toBe(true);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it.each([
    ['GET', '/api/customers/42/access-token', 'POST'],
    ['GET', '/api/sellers/A1SELLER/access-token', 'POST'],
    ['POST', '/api/health', 'GET'],
    ['DELETE', '/api/credentials', 'GET'],
    ['PUT', '/api/authorize', 'GET'],
  ])('%s %s is 405 with Allow: %s', async (method, path, allow) => {
    const host = await realHost();
    const res = await rawRequest(host.port, [`${method} ${path} HTTP/1.1`, `Host: localhost:${host.port}`, 'Content-Length: 0', 'Connection: close'].join('\r\n'));
    expect(res.status).toBe(405);
    expect(res.headers['allow']).toBe(allow);
  });

  it('a local page asked with another method is 405 with its Allow', async () => {
    const res = await rawRequest(h.host.port, [`GET /start/access-token HTTP/1.1`, `Host: localhost:${h.host.port}`, 'Connection: close'].join('\r\n'));
    expect(res.status).toBe(405);
    expect(res.headers['allow']).toBe('POST');
  });

  it('a browser-style client still works end to end', async () => {
    const browser = new CookieClient();
    const res = await browser.get(await h.approve(browser, 'safety-1'));
    expect(res.status, res.body.slice(0, 600)).toBe(200);
    expect(res.body).toContain('Shipica is authorized');
  });
});
