import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../credentials/index.js';
import type { App } from '../app.js';
import { invokeRoute } from './invokeRoute.js';
import { jsonError, SECURITY_HEADERS, serializeCookie, withSecurityHeaders } from './responses.js';
import { routes, type Route } from './routes.js';
import type { AuthLevel, HttpMethod, HttpRequestLike, HttpResult } from './types.js';

/**
 * A small node:http host for `npm start` and the tests: it serves the same route table as the Functions host,
 * under `/api`, with the same status codes, headers and cookies, and local-only pages (the start page, the sandbox
 * Amazon; `npm start` adds them in sandbox mode only) matched by exact path.
 *
 * It runs on a developer's machine, maybe with real settings, where any web page the developer opens can send it
 * requests (DNS rebinding: a page's own host name resolving to 127.0.0.1), so:
 * - it answers only requests whose Host (or absolute-form target) is localhost, 127.0.0.1 or [::1] with its port, or
 *   a host named in `allowedHosts` (LOCAL_ALLOWED_HOSTS); anything else, or a malformed Host, is 400;
 * - handlers see a URL built from the host's own origin and the request's path, never the request's host, so no
 *   redirect can point elsewhere (`//evil.test/start/launch` is a path, and 404);
 * - with `keys` it checks function and admin keys as Azure does (`x-functions-key` header or `code` query
 *   parameter): function-level routes take the function or the admin key, admin-level routes only the admin key;
 * - every caller mistake is a 4xx with the security headers (bad %-escape or Host 400, unparsable request 400,
 *   headers too large 431, body over 64 KiB 413, known path with another method 405 with Allow), never a 5xx or a
 *   dropped connection.
 */
export interface LocalPage {
  method: HttpMethod;
  path: string;
  handler(request: HttpRequestLike): Promise<HttpResult>;
}

export interface LocalHostOptions {
  app: App;
  logger: Logger;
  port: number;
  pages?: readonly LocalPage[];
  /** Host names answered besides the loopback ones, e.g. a tunnel's (LOCAL_ALLOWED_HOSTS, see parseAllowedHosts). */
  allowedHosts?: readonly AllowedHost[];
  /** Enforced as in Azure once either is set (LOCAL_FUNCTION_KEY, LOCAL_ADMIN_KEY); an unset key matches nothing. */
  keys?: { function?: string | undefined; admin?: string | undefined };
}

export interface RunningHost {
  /** http://localhost:<port> */
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** A host name (lower case) and, when given, the only port it is answered with. */
export interface AllowedHost {
  name: string;
  port?: number | undefined;
}

export const MAX_BODY_BYTES = 64 * 1024;
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
/** A DNS name or IPv4 address, or a bracketed IPv6 address, then an optional port. */
const HOST_PATTERN = /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)(?::(\d{1,5}))?$/;

/** `name[:port]` as a Host header or setting writes it, or undefined when malformed (a port outside 1-65535 included). */
export function parseHost(value: string): AllowedHost | undefined {
  const match = HOST_PATTERN.exec(value.toLowerCase());
  if (match === null || match[1] === undefined) return undefined;
  if (match[2] === undefined) return { name: match[1] };
  const port = Number(match[2]);
  return port >= 1 && port <= 65535 ? { name: match[1], port } : undefined;
}

/**
 * LOCAL_ALLOWED_HOSTS: comma-separated `name` or `name:port` (e.g. `abc.ngrok.app,devbox.local:7071`). A name without
 * a port is answered without a port (behind a proxy or tunnel) or with the host's own port.
 */
export function parseAllowedHosts(value: string | undefined): { ok: true; hosts: AllowedHost[] } | { ok: false; problem: string } {
  const entries = (value ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  const hosts: AllowedHost[] = [];
  for (const entry of entries) {
    const host = parseHost(entry);
    if (host === undefined) return { ok: false, problem: 'LOCAL_ALLOWED_HOSTS must be comma-separated host names, each optionally with :port (1-65535).' };
    hosts.push(host);
  }
  return { ok: true, hosts };
}

export async function startLocalHost(options: LocalHostOptions): Promise<RunningHost> {
  const table = routes.map((route) => ({ route, pattern: routePattern(route.route) }));
  const pages = options.pages ?? [];
  const extraHosts = options.allowedHosts ?? [];
  const keys = options.keys ?? {};
  const keysEnforced = keys.function !== undefined || keys.admin !== undefined;
  // Node would answer a missing Host itself (400 without our headers): handle() answers it instead.
  const server = createServer({ requireHostHeader: false }, (req, res) => {
    void handle(req, res).catch((error: unknown) => {
      options.logger.error('local host failed to answer', { error: error instanceof Error ? error.message : 'unknown' });
      if (!res.headersSent) writeResult(res, jsonError(500, 'internal_error', 'The local host failed to answer.'));
      else res.end();
    });
  });
  // Requests Node cannot parse (a bad method, target, header or length) get a 4xx with our headers, not a bare one.
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    socket.end(rawResponse(status, 'bad_request', 'The request could not be parsed.'));
  });
  // CONNECT (a proxy's method) is no route here; without a listener Node would drop the connection.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.end(rawResponse(405, 'method_not_allowed', 'CONNECT is not served here.', 'GET, POST'));
  });

  let port = options.port;
  const origin = () => `http://localhost:${port}`;

  function hostAllowed(host: AllowedHost): boolean {
    if (LOOPBACK_NAMES.includes(host.name)) return host.port === port || (host.port === undefined && port === 80);
    return extraHosts.some((allowed) => allowed.name === host.name && (allowed.port === undefined ? host.port === undefined || host.port === port : allowed.port === host.port));
  }

  /**
   * True unless a browser says the request comes from another site's page: Sec-Fetch-Site `cross-site` or
   * `same-site` (another port of localhost is the same site), or an Origin that is not one of this host's. Origin
   * `null` alone proves nothing: with our `Referrer-Policy: no-referrer` browsers send it on their own form posts.
   * No header at all (curl, services) is served.
   */
  function sameOrigin(originHeader: string | undefined, fetchSite: string | string[] | undefined): boolean {
    if (fetchSite === 'cross-site' || fetchSite === 'same-site') return false;
    if (originHeader === undefined || originHeader === 'null') return true;
    let parsed: URL;
    try {
      parsed = new URL(originHeader);
    } catch {
      return false;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
    // URL.host drops a default port as a Host header does, so the Host rules apply as they are.
    const host = parseHost(parsed.host);
    return host !== undefined && hostAllowed(host);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (body.kind === 'too_large') {
      return writeResult(res, jsonError(413, 'payload_too_large', `The request body is larger than ${MAX_BODY_BYTES} bytes.`, { Connection: 'close' }));
    }
    const target = requestTarget(req);
    if (typeof target === 'string') return writeResult(res, jsonError(400, 'bad_request', target));
    if (!hostAllowed(target.host)) {
      return writeResult(res, jsonError(400, 'host_not_allowed', 'This host answers localhost, 127.0.0.1 and [::1] with its port; set LOCAL_ALLOWED_HOSTS to add a host name.'));
    }
    // The host's own origin, never the request's: handlers build links and redirects from this URL.
    const url = new URL(`${origin()}${target.path}`);
    const method = (req.method ?? 'GET').toUpperCase();
    // A web page on another site can still make the browser POST a form here (it cannot read the answer, but it
    // could make refreshes or sandbox changes happen): browsers name the page's origin, and only ours is served.
    if (method !== 'GET' && method !== 'HEAD' && !sameOrigin(req.headers.origin, req.headers['sec-fetch-site'])) {
      return writeResult(res, jsonError(403, 'origin_not_allowed', 'Requests from another site’s page are not served here.'));
    }

    const pagesHere = pages.filter((p) => p.path === url.pathname);
    const page = pagesHere.find((p) => p.method === method);
    if (page !== undefined) return writeResult(res, await page.handler(toRequest(req, url, {}, body.text)));
    if (pagesHere.length > 0) return writeResult(res, methodNotAllowed(pagesHere.map((p) => p.method)));

    for (const { route, pattern } of table) {
      const match = pattern.exec(url.pathname);
      if (match === null) continue;
      if (!route.methods.includes(method as HttpMethod)) return writeResult(res, methodNotAllowed(route.methods));
      if (!keyAccepted(route.authLevel, presentedKey(req, url))) {
        return writeResult(
          res,
          jsonError(401, 'unauthorized', `${route.name} needs ${route.authLevel === 'admin' ? 'the admin key' : 'a function key'}: send it in the x-functions-key header or the code query parameter.`),
        );
      }
      const params = decodeParams(match.groups ?? {});
      if (params === undefined) return writeResult(res, jsonError(400, 'invalid_request', 'A path segment holds a malformed %-escape.'));
      const request = toRequest(req, url, params, body.text);
      return writeResult(res, await invokeRoute(route, request, { app: options.app, log: options.logger }));
    }
    writeResult(res, { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: 'Not Found' });
  }

  function keyAccepted(level: AuthLevel, presented: string | undefined): boolean {
    if (level === 'anonymous' || !keysEnforced) return true;
    if (presented === undefined) return false;
    if (level === 'function' && sameKey(presented, keys.function)) return true;
    return sameKey(presented, keys.admin);
  }

  port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  return {
    url: origin(),
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `customers/{customerId}/access-token` → /^\/api\/customers\/(?<customerId>[^/]+)\/access-token$/ */
function routePattern(route: Route['route']): RegExp {
  const source = route
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      return param ? `(?<${param[1]}>[^/]+)` : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^/api/${source}$`);
}

/**
 * The Host to check and the path (with query) to serve, or why the request is refused. An absolute-form target
 * (`GET http://host/path`) names its host itself (RFC 9112 §3.2.2), so that host is the one checked; either way only
 * the path and query travel on.
 */
function requestTarget(req: IncomingMessage): { host: AllowedHost; path: string } | string {
  const hostHeaders = req.rawHeaders.filter((_value, i) => i % 2 === 0 && req.rawHeaders[i]?.toLowerCase() === 'host');
  if (hostHeaders.length > 1) return 'The request has more than one Host header.';
  const raw = req.url ?? '';
  let authority = req.headers.host;
  let path = raw;
  if (!raw.startsWith('/')) {
    if (!/^http:\/\//i.test(raw)) return 'The request target must be a path or an http:// URL.';
    const slash = raw.indexOf('/', 'http://'.length);
    authority = raw.slice('http://'.length, slash === -1 ? undefined : slash).split('?')[0];
    path = slash === -1 ? `/${raw.includes('?') ? raw.slice(raw.indexOf('?')) : ''}` : raw.slice(slash);
  }
  if (authority === undefined || authority === '') return 'The request has no Host.';
  const host = parseHost(authority);
  if (host === undefined) return 'The Host header is malformed.';
  try {
    new URL(`http://localhost${path}`);
  } catch {
    return 'The request target is malformed.';
  }
  return { host, path };
}

/** Path parameters decoded; undefined when one holds a malformed %-escape (`%ZZ`, `%E0%A4%A`, a lone surrogate). */
function decodeParams(params: Record<string, string>): Record<string, string> | undefined {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    try {
      decoded[name] = decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  return decoded;
}

/** The key a caller presents, as Azure reads it: the x-functions-key header, else the `code` query parameter. */
function presentedKey(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers['x-functions-key'];
  if (typeof header === 'string') return header;
  const codes = url.searchParams.getAll('code');
  return codes.length === 1 ? codes[0] : undefined;
}

/** Compared as SHA-256 digests in constant time, so neither the key's length nor its prefix leaks through timing. */
function sameKey(presented: string, expected: string | undefined): boolean {
  if (expected === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

function methodNotAllowed(methods: readonly string[]): HttpResult {
  const allow = [...new Set(methods)].join(', ');
  return jsonError(405, 'method_not_allowed', `Use ${allow}.`, { Allow: allow });
}

function toRequest(req: IncomingMessage, url: URL, params: Record<string, string>, body: string): HttpRequestLike {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    try {
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else if (value !== undefined) headers.set(name, value);
    } catch {
      // A header value fetch's Headers refuses (e.g. a byte above 0xFF): not one a handler reads; dropped.
    }
  }
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    url: url.toString(),
    headers,
    params,
    text: () => Promise.resolve(body),
  };
}

/**
 * The whole body, read before the request is answered, so an answer never races a client still sending. A body past
 * MAX_BODY_BYTES is 'too_large' at once (the 413 goes out while the client may still be sending) and the rest is
 * read and dropped as it arrives, never kept: closing the socket on a client still sending would reset the
 * connection and lose the 413 (Node's requestTimeout bounds a client that never stops).
 */
function readBody(req: IncomingMessage): Promise<{ kind: 'ok'; text: string } | { kind: 'too_large' }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else resolve({ kind: 'too_large' });
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? { kind: 'too_large' } : { kind: 'ok', text: Buffer.concat(chunks).toString('utf8') }));
    // An aborted request has nobody to answer; the empty body is never served to a handler.
    req.on('error', () => resolve({ kind: 'too_large' }));
  });
}

function writeResult(res: ServerResponse, result: HttpResult): void {
  const secured = withSecurityHeaders(result);
  const headers: Record<string, string | string[]> = { ...secured.headers };
  if (result.cookies !== undefined && result.cookies.length > 0) headers['Set-Cookie'] = result.cookies.map(serializeCookie);
  res.writeHead(result.status, headers);
  res.end(result.body ?? '');
}

/** A whole response written to a socket Node's parser gave up on (it closes after). */
function rawResponse(status: number, error: string, message: string, allow?: string): string {
  const body = JSON.stringify({ error, message });
  const headers = {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    ...(allow === undefined ? {} : { Allow: allow }),
    Connection: 'close',
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}


