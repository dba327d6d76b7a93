import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../authorization/ports.js';
import type { App } from '../app.js';
import { invokeRoute } from './invokeRoute.js';
import { jsonError, serializeCookie } from './responses.js';
import { routes, type Route } from './routes.js';
import type { HttpMethod, HttpRequestLike, HttpResult } from './types.js';

/**
 * A small node:http host for `npm start` and the tests: it serves the same route table as the Functions host,
 * under `/api`, with the same status codes, headers and cookies. Like Core Tools, it does not enforce function keys.
 * Local-only pages (the start page, the sandbox Amazon) are extra routes matched by exact path.
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
}

export interface RunningHost {
  /** http://localhost:<port> */
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

export async function startLocalHost(options: LocalHostOptions): Promise<RunningHost> {
  const table = routes.map((route) => ({ route, pattern: routePattern(route.route) }));
  const pages = options.pages ?? [];
  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      options.logger.error('local host failed to answer', { error: error instanceof Error ? error.message : 'unknown' });
      if (!res.headersSent) writeResult(res, jsonError(500, 'internal_error', 'The local host failed to answer.'));
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? `localhost:${port}`}`);
    const method = (req.method ?? 'GET').toUpperCase();
    const page = pages.find((p) => p.path === url.pathname && p.method === method);
    if (page !== undefined) return writeResult(res, await page.handler(toRequest(req, url, {})));

    for (const { route, pattern } of table) {
      const match = pattern.exec(url.pathname);
      if (match === null || !route.methods.includes(method as HttpMethod)) continue;
      const request = toRequest(req, url, match.groups ?? {});
      return writeResult(res, await invokeRoute(route, request, { app: options.app, log: options.logger }));
    }
    writeResult(res, { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: 'Not Found' });
  }

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  return {
    url: `http://localhost:${port}`,
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

function toRequest(req: IncomingMessage, url: URL, params: Record<string, string>): HttpRequestLike {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  let body: Promise<string> | undefined;
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    url: url.toString(),
    headers,
    params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, decodeSegment(v)])),
    text: () => (body ??= readBody(req)),
  };
}

/** A malformed escape (`%E0%A4%A`) is the caller's mistake: kept as sent, the route's own checks answer it (never a 500). */
function decodeSegment(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function writeResult(res: ServerResponse, result: HttpResult): void {
  const headers: Record<string, string | string[]> = { ...result.headers };
  if (result.cookies !== undefined && result.cookies.length > 0) headers['Set-Cookie'] = result.cookies.map(serializeCookie);
  res.writeHead(result.status, headers);
  res.end(result.body ?? '');
}
