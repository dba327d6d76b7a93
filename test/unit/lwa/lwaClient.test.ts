import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock, type Clock, type IncidentKind, type IncidentSignal, type LogFields, type Logger } from '../../../src/credentials/index.js';
import { LwaClient, type LwaClientOptions } from '../../../src/lwa/lwaClient.js';
import { unusedPort } from '../../support/ports.js';

const CLIENT_ID = 'amzn1.application-oa2-client.0123456789abcdef';
const CLIENT_SECRET = 'amzn1.oa2-cs.v1.s3cr3t|with|pipes&and=equals+plus';
const CODE = 'ANcode|RgQ0fXYZ+/=';
const REDIRECT = 'https://auth.shipica.example/api/callback?x=1';
const REFRESH = 'Atzr|IwEBIRefreshTokenValue+/=|more';
const RETRY = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 };

interface Received {
  method: string | undefined;
  path: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

type Reply = (res: ServerResponse, index: number, received: Received) => void;

interface TestServer {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

const servers: (Server | TcpServer)[] = [];

async function startServer(reply: Reply): Promise<TestServer> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry = { method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(entry);
      reply(res, received.length - 1, entry);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/auth/o2/token`, received, close: () => closeServer(server) };
}

function closeServer(server: Server | TcpServer): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections(); // including hanging requests
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A TCP server that reads the first bytes a client sends, then destroys the connection: nothing is answered. */
async function startDroppingServer(): Promise<{ url: string; httpsUrl: string; connections: () => number; bytesRead: () => number }> {
  let connections = 0;
  let bytesRead = 0;
  const server = createTcpServer((socket) => {
    connections++;
    socket.once('data', (chunk: Buffer) => {
      bytesRead += chunk.length;
      socket.destroy();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/auth/o2/token`,
    httpsUrl: `https://127.0.0.1:${port}/auth/o2/token`,
    connections: () => connections,
    bytesRead: () => bytesRead,
  };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => (s.listening ? closeServer(s) : Promise.resolve())));
});

function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return (res) => {
    res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
}

function sequence(...replies: Reply[]): Reply {
  return (res, index, received) => {
    const reply = replies[Math.min(index, replies.length - 1)];
    if (reply === undefined) throw new Error('no reply');
    reply(res, index, received);
  };
}

const GRANT = { access_token: 'Atza|access-token-value', token_type: 'bearer', expires_in: 3600, refresh_token: 'Atzr|new-refresh-token' };
const ACCESS = { access_token: 'Atza|access-token-value', token_type: 'bearer', expires_in: 3600 };

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (message: string, fields?: LogFields) => lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  return { lines, info: log('info'), warn: log('warn'), error: log('error') };
}

/** The incident signal the client tells, recording each call (the IncidentMonitor behind it is tested apart). */
function recordingIncidents(): IncidentSignal & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    report: async (kind: IncidentKind, detail: string | null) => void calls.push(`report ${kind} ${detail}`),
    resolved: async (kind: IncidentKind) => void calls.push(`resolved ${kind}`),
    observe: () => undefined,
    recall: async () => undefined,
  };
}

function client(
  tokenUrl: string,
  overrides: Partial<LwaClientOptions> = {},
): { lwa: LwaClient; logger: ReturnType<typeof recordingLogger>; incidents: ReturnType<typeof recordingIncidents> } {
  const logger = recordingLogger();
  const incidents = recordingIncidents();
  const lwa = new LwaClient({
    tokenUrl,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    timeoutMs: 2000,
    retry: RETRY,
    clock: systemClock,
    logger,
    incidents,
    ...overrides,
  });
  return { lwa, logger, incidents };
}

function expectNoSecrets(lines: string[]): void {
  for (const line of lines) {
    for (const secret of [CLIENT_SECRET, CODE, REFRESH, 's3cr3t', 'ANcode', 'IwEBIRefresh']) expect(line).not.toContain(secret);
  }
}

const later = (ms = 60_000): Date => new Date(Date.now() + ms);

describe('LwaClient against a loopback token endpoint', () => {
  it('exchangeCode: sends the documented form body and parses the grant', async () => {
    const server = await startServer(json(200, GRANT));
    const { lwa, logger } = client(server.url);
    const result = await lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later() });
    expect(result).toEqual({
      ok: true,
      value: { accessToken: 'Atza|access-token-value', tokenType: 'bearer', expiresIn: 3600, refreshToken: 'Atzr|new-refresh-token' },
    });
    expect(server.received).toHaveLength(1);
    const [req] = server.received;
    expect(req?.method).toBe('POST');
    expect(req?.path).toBe('/auth/o2/token');
    expect(req?.headers['content-type']).toBe('application/x-www-form-urlencoded;charset=UTF-8');
    expect(req?.headers['accept']).toBe('application/json');
    expect([...new URLSearchParams(req?.body).entries()]).toEqual([
      ['grant_type', 'authorization_code'],
      ['code', CODE],
      ['redirect_uri', REDIRECT],
      ['client_id', CLIENT_ID],
      ['client_secret', CLIENT_SECRET],
    ]);
    expect(req?.body).toBe(
      'grant_type=authorization_code' +
        '&code=ANcode%7CRgQ0fXYZ%2B%2F%3D' +
        '&redirect_uri=https%3A%2F%2Fauth.shipica.example%2Fapi%2Fcallback%3Fx%3D1' +
        '&client_id=amzn1.application-oa2-client.0123456789abcdef' +
        '&client_secret=amzn1.oa2-cs.v1.s3cr3t%7Cwith%7Cpipes%26and%3Dequals%2Bplus',
    );
    expectNoSecrets(logger.lines);
  });

  it('refreshAccessToken: grant_type=refresh_token, no scope, no redirect_uri', async () => {
    const server = await startServer(json(200, { ...ACCESS, token_type: 'Bearer' }));
    const { lwa } = client(server.url);
    const result = await lwa.refreshAccessToken({ refreshToken: REFRESH, deadline: later() });
    expect(result).toEqual({ ok: true, value: { accessToken: 'Atza|access-token-value', tokenType: 'bearer', expiresIn: 3600 } });
    expect(server.received).toHaveLength(1);
    const form = new URLSearchParams(server.received[0]?.body);
    expect([...form.entries()]).toEqual([
      ['grant_type', 'refresh_token'],
      ['refresh_token', REFRESH],
      ['client_id', CLIENT_ID],
      ['client_secret', CLIENT_SECRET],
    ]);
    expect(form.has('scope')).toBe(false);
    expect(server.received[0]?.body).toContain('refresh_token=Atzr%7CIwEBIRefreshTokenValue%2B%2F%3D%7Cmore');
  });

  it('refreshAccessToken drops a refresh_token LWA may send back', async () => {
    const server = await startServer(json(200, GRANT));
    const result = await client(server.url).lwa.refreshAccessToken({ refreshToken: REFRESH, deadline: later() });
    expect(result).toEqual({ ok: true, value: { accessToken: 'Atza|access-token-value', tokenType: 'bearer', expiresIn: 3600 } });
  });

  it('400 invalid_grant → invalid_grant, one request, no retry', async () => {
    const server = await startServer(json(400, { error: 'invalid_grant', error_description: 'The request has an invalid grant parameter : code' }));
    const { lwa, logger } = client(server.url);
    const result = await lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later() });
    expect(result).toEqual({
      ok: false,
      failure: { kind: 'invalid_grant', status: 400, error: 'invalid_grant', description: 'The request has an invalid grant parameter : code', attempts: 1 },
    });
    expect(server.received).toHaveLength(1);
    expect(logger.lines).toEqual([]);
  });

  it('401 invalid_client with every secret → one incident report naming what LWA said, no log line of its own; a later success resolves it', async () => {
    const server = await startServer(
      sequence(
        json(401, { error: 'invalid_client', error_description: 'Client authentication failed' }),
        json(401, { error: 'invalid_client', error_description: 'Client authentication failed' }),
        json(200, ACCESS),
      ),
    );
    const { lwa, logger, incidents } = client(server.url, { previousClientSecret: 'amzn1.oa2-cs.v1.previous' });
    const result = await lwa.refreshAccessToken({ refreshToken: REFRESH, deadline: later() });
    expect(result.ok === false && result.failure).toMatchObject({ kind: 'invalid_client', status: 401, error: 'invalid_client', attempts: 1 });
    expect(server.received).toHaveLength(2); // each secret once, never retried
    expect(incidents.calls).toEqual(['report lwa_client_rejected invalid_client: Client authentication failed (2 client secrets tried)']);
    expect(logger.lines).toEqual([]);
    expect((await lwa.refreshAccessToken({ refreshToken: REFRESH, deadline: later() })).ok).toBe(true);
    expect(incidents.calls.slice(1)).toEqual(['resolved lwa_client_rejected']);
  });

  it('500 then 200 → success after 2 requests', async () => {
    const server = await startServer(sequence(json(500, { error: 'server_error' }), json(200, GRANT)));
    const { lwa, logger } = client(server.url);
    const result = await lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later() });
    expect(result.ok && result.value.refreshToken).toBe('Atzr|new-refresh-token');
    expect(server.received).toHaveLength(2);
    expect(server.received[1]?.body).toBe(server.received[0]?.body);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatch(/^warn LWA token request failed; retrying /);
    expectNoSecrets(logger.lines);
  });

  it('503 every time → unavailable after maxAttempts (3) requests', async () => {
    const server = await startServer(json(503, { error: 'temporarily_unavailable', error_description: 'try later' }));
    const { lwa, logger } = client(server.url);
    const result = await lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later() });
    expect(result).toEqual({
      ok: false,
      failure: { kind: 'unavailable', status: 503, error: 'temporarily_unavailable', description: 'try later', attempts: 3 },
    });
    expect(server.received).toHaveLength(3);
    expect(logger.lines).toHaveLength(2);
    expectNoSecrets(logger.lines);
  });

  it('backoff delays stay within maxDelayMs', async () => {
    const server = await startServer(json(500, 'not json'));
    const delays: number[] = [];
    const { lwa } = client(server.url, {
      retry: { maxAttempts: 5, baseDelayMs: 2, maxDelayMs: 5 },
      sleep: async (ms) => void delays.push(ms),
      random: () => 1,
    });
    const result = await lwa.refreshAccessToken({ refreshToken: REFRESH, deadline: later() });
    expect(result.ok === false && result.failure).toEqual({ kind: 'unavailable', status: 500, error: undefined, description: undefined, attempts: 5 });
    // backoff = min(5, 2 * 2^(n-1)) with random()=1 → full backoff
    expect(delays).toEqual([2, 4, 5, 5]);
  });

  it('429 with Retry-After is retried after the advertised delay', async () => {
    const server = await startServer(sequence(json(429, { error: 'too_many_requests' }, { 'Retry-After': '1' }), json(200, ACCESS)));
    const delays: number[] = [];
    const { lwa } = client(server.url, { sleep: async (ms) => void delays.push(ms) });
    const result = await lwa.refreshAccessToken({ refreshToken: REFRESH, deadline: later() });
    expect(result.ok).toBe(true);
    expect(server.received).toHaveLength(2);
    expect(delays).toEqual([1000]);
  });

  it('a Retry-After longer than maxRetryAfterMs is handed back at once, not waited out', async () => {
    const server = await startServer(json(429, { error: 'too_many_requests' }, { 'Retry-After': '3' }));
    const delays: number[] = [];
    const { lwa } = client(server.url, { sleep: async (ms) => void delays.push(ms) });
    const result = await lwa.refreshAccessToken({ refreshToken: REFRESH, deadline: later() });
    expect(result.ok === false && result.failure).toMatchObject({ kind: 'unavailable', status: 429, attempts: 1, retryAfterSeconds: 3 });
    expect(server.received).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('429 with Retry-After is honoured with the real sleep too', async () => {
    const server = await startServer(sequence(json(429, { error: 'too_many_requests' }, { 'Retry-After': '1' }), json(200, ACCESS)));
    const started = Date.now();
    const result = await client(server.url).lwa.refreshAccessToken({ refreshToken: REFRESH, deadline: later() });
    expect(result.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(server.received).toHaveLength(2);
  });

  it('refreshAccessToken: a hanging server is asked again, ending "timed out" after maxAttempts', async () => {
    const server = await startServer(() => {
      /* never answers; closeAllConnections() ends the sockets */
    });
    const { lwa, logger } = client(server.url, { timeoutMs: 200 });
    const started = Date.now();
    const result = await lwa.refreshAccessToken({ refreshToken: REFRESH, deadline: later() });
    expect(result).toEqual({
      ok: false,
      failure: { kind: 'unavailable', status: undefined, error: undefined, description: 'timed out', attempts: 3 },
    });
    expect(server.received).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 190);
    expectNoSecrets(logger.lines);
    await server.close();
  });

  it('connection refused → unavailable (network error)', async () => {
    const server = await startServer(json(200, GRANT));
    const url = server.url;
    await server.close();
    const { lwa, logger } = client(url);
    const result = await lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later() });
    expect(result).toEqual({
      ok: false,
      failure: { kind: 'unavailable', status: undefined, error: undefined, description: 'network error (ECONNREFUSED)', attempts: 3 },
    });
    expectNoSecrets(logger.lines);
  });

  // Every malformed body is in classifyingTokenAnswers.test.ts; here, that the client does not retry one.
  it('200 with malformed JSON → unavailable after exactly 1 request', async () => {
    const server = await startServer(json(200, '{"access_token": "Atza|x", '));
    const result = await client(server.url).lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later() });
    expect(result).toEqual({
      ok: false,
      failure: { kind: 'unavailable', status: undefined, error: undefined, description: 'malformed token response', attempts: 1 },
    });
    expect(server.received).toHaveLength(1);
  });

  it('exchange 200 without refresh_token → unavailable', async () => {
    const server = await startServer(json(200, ACCESS));
    const result = await client(server.url).lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later() });
    expect(result).toEqual({
      ok: false,
      failure: { kind: 'unavailable', status: undefined, error: undefined, description: 'token response has no refresh_token', attempts: 1 },
    });
    expect(server.received).toHaveLength(1);
  });

  it('a redirect is not followed and not retried', async () => {
    const server = await startServer((res) => {
      res.writeHead(302, { Location: 'http://127.0.0.1:1/elsewhere' });
      res.end();
    });
    const result = await client(server.url).lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later() });
    expect(result).toEqual({
      ok: false,
      failure: { kind: 'unavailable', status: 302, error: undefined, description: 'unexpected HTTP 302', attempts: 1 },
    });
    expect(server.received).toHaveLength(1);
  });

  it('the deadline stops retries early', async () => {
    const server = await startServer(json(503, { error: 'server_error' }));
    const { lwa } = client(server.url, { timeoutMs: 2000 });
    const result = await lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later(100) });
    expect(result.ok === false && result.failure).toMatchObject({ kind: 'unavailable', status: 503, attempts: 1 });
    expect(server.received).toHaveLength(1);
  });

  it('a Retry-After beyond the deadline stops retries', async () => {
    const server = await startServer(json(429, { error: 'too_many_requests' }, { 'Retry-After': '120' }));
    const started = Date.now();
    const result = await client(server.url).lwa.refreshAccessToken({ refreshToken: REFRESH, deadline: later(30_000) });
    expect(result.ok === false && result.failure).toMatchObject({ kind: 'unavailable', status: 429, attempts: 1 });
    expect(server.received).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('error_description echoing the code or the client secret is scrubbed', async () => {
    const server = await startServer(
      json(400, { error: 'invalid_grant', error_description: `code ${CODE} is not valid for client secret ${CLIENT_SECRET}\nbye` }),
    );
    const { lwa, logger } = client(server.url);
    const result = await lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later() });
    expect(result).toEqual({
      ok: false,
      failure: {
        kind: 'invalid_grant',
        status: 400,
        error: 'invalid_grant',
        description: 'code [redacted] is not valid for client secret [redacted] bye',
        attempts: 1,
      },
    });
    expectNoSecrets(logger.lines);
  });

  it('error and error_description echoing the refresh token are scrubbed (retried 5xx too), and logs stay clean', async () => {
    const server = await startServer(json(500, { error: `server_error ${REFRESH}`, error_description: `refresh ${REFRESH} secret ${CLIENT_SECRET}` }));
    const { lwa, logger } = client(server.url);
    const result = await lwa.refreshAccessToken({ refreshToken: REFRESH, deadline: later() });
    expect(result).toEqual({
      ok: false,
      failure: {
        kind: 'unavailable',
        status: 500,
        error: 'server_error [redacted]',
        description: 'refresh [redacted] secret [redacted]',
        attempts: 3,
      },
    });
    expect(logger.lines).toHaveLength(2);
    expectNoSecrets(logger.lines);
    expect(logger.lines.join('\n')).toContain('[redacted]');
  });

});

describe('LwaClient: the code exchange never re-sends a code that may have reached LWA', () => {
  const slow = (ms: number, reply: Reply): Reply => (res, index, received) => {
    setTimeout(() => {
      if (!res.destroyed) reply(res, index, received);
    }, ms);
  };

  it('refreshAccessToken: a server that trickles a byte at a time is cut at the timeout (the whole request, not the idle time)', async () => {
    const timers: NodeJS.Timeout[] = [];
    const server = await startServer((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{');
      timers.push(setInterval(() => res.write(' '), 50));
    });
    const { lwa } = client(server.url, { timeoutMs: 300, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    const result = await lwa.refreshAccessToken({ refreshToken: REFRESH, deadline: later() });
    for (const timer of timers) clearInterval(timer);
    expect(result.ok === false && result.failure).toMatchObject({ kind: 'unavailable', description: 'timed out', attempts: 1 });
    await server.close();
  });

  it('a code exchange that times out after sending is not sent again: one request, unavailable', async () => {
    const server = await startServer(() => {
      /* never answers */
    });
    const { lwa, logger } = client(server.url, { exchangeTimeoutMs: 200 });
    const result = await lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later() });
    expect(result).toEqual({
      ok: false,
      failure: {
        kind: 'unavailable',
        status: undefined,
        error: undefined,
        description: 'timed out after connecting; not re-sent, the code may be spent',
        attempts: 1,
      },
    });
    expect(server.received).toHaveLength(1);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatch(/^warn LWA code exchange failed after the connection was made: the code is not sent again/);
    expectNoSecrets(logger.lines);
  });

  it('a success slower than the exchange timeout leaves exactly one request at LWA', async () => {
    const server = await startServer(slow(600, json(200, GRANT)));
    const { lwa } = client(server.url, { exchangeTimeoutMs: 150 });
    const result = await lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later() });
    expect(result.ok === false && result.failure).toMatchObject({ kind: 'unavailable', attempts: 1 });
    expect(server.received).toHaveLength(1);
  });

  it('the code exchange waits for exchangeTimeoutMs, not for timeoutMs', async () => {
    const server = await startServer(slow(300, json(200, GRANT)));
    const { lwa } = client(server.url, { timeoutMs: 50, exchangeTimeoutMs: 5_000 });
    const result = await lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later() });
    expect(result.ok && result.value.refreshToken).toBe('Atzr|new-refresh-token');
    expect(server.received).toHaveLength(1);
  });

  it('the refresh grant waits for timeoutMs, not for exchangeTimeoutMs', async () => {
    const server = await startServer(slow(300, json(200, ACCESS)));
    const { lwa } = client(server.url, { timeoutMs: 50, exchangeTimeoutMs: 5_000 });
    const result = await lwa.refreshAccessToken({ refreshToken: REFRESH, deadline: later() });
    expect(result.ok === false && result.failure).toMatchObject({ kind: 'unavailable', description: 'timed out' });
  });

  it('connection refused is retried: the exchange succeeds once the endpoint is listening', async () => {
    const port = await unusedPort();
    const received: string[] = [];
    const late = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received.push(req.url ?? '');
        json(200, GRANT)(res, 0, { method: req.method, path: req.url, headers: req.headers, body: '' });
      });
    });
    servers.push(late);
    const { lwa, logger } = client(`http://127.0.0.1:${port}/auth/o2/token`, {
      // The endpoint comes up between the first attempt and the retry.
      sleep: () => new Promise<void>((resolve) => late.listen(port, '127.0.0.1', resolve)),
    });
    const result = await lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later() });
    expect(result.ok && result.value.refreshToken).toBe('Atzr|new-refresh-token');
    expect(received).toEqual(['/auth/o2/token']);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatch(/^warn LWA token request failed; retrying /);
  });

  it('a connection dropped after the request was written is not retried for the code exchange', async () => {
    const server = await startDroppingServer();
    const result = await client(server.url).lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later() });
    expect(result.ok === false && result.failure).toEqual({
      kind: 'unavailable',
      status: undefined,
      error: undefined,
      description: 'network error (ECONNRESET) after connecting; not re-sent, the code may be spent',
      attempts: 1,
    });
    expect(server.connections()).toBe(1);
    expect(server.bytesRead()).toBeGreaterThan(0);
  });

  it('a connection dropped after the request was written is retried for the refresh grant', async () => {
    const server = await startDroppingServer();
    const result = await client(server.url).lwa.refreshAccessToken({ refreshToken: REFRESH, deadline: later() });
    expect(result.ok === false && result.failure).toMatchObject({ kind: 'unavailable', description: 'network error (ECONNRESET)', attempts: 3 });
    expect(server.connections()).toBe(3);
  });

  it('a TLS handshake that fails (the same ECONNRESET, but before any request byte) is retried for the code exchange', async () => {
    // The server reads the ClientHello and hangs up: the connection was made, the TLS session never was.
    const server = await startDroppingServer();
    const result = await client(server.httpsUrl).lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later() });
    expect(result.ok === false && result.failure).toMatchObject({ kind: 'unavailable', description: 'network error (ECONNRESET)', attempts: 3 });
    expect(server.connections()).toBe(3);
  });

  it('429 with Retry-After: 2 (above maxRetryAfterMs) is waited out and the exchange retried', async () => {
    const server = await startServer(sequence(json(429, { error: 'too_many_requests' }, { 'Retry-After': '2' }), json(200, GRANT)));
    const delays: number[] = [];
    const { lwa } = client(server.url, { sleep: async (ms) => void delays.push(ms), retry: { ...RETRY, maxRetryAfterMs: 1_000 } });
    const result = await lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later() });
    expect(result.ok && result.value.refreshToken).toBe('Atzr|new-refresh-token');
    expect(server.received).toHaveLength(2);
    expect(delays).toEqual([2000]);
  });

  it('503 with an HTTP-date Retry-After 2 s after the response Date is waited out for 2 s and retried', async () => {
    const date = new Date(Math.floor(Date.now() / 1000) * 1000);
    const headers = { Date: date.toUTCString(), 'Retry-After': new Date(date.getTime() + 2_000).toUTCString() };
    const server = await startServer(sequence(json(503, { error: 'temporarily_unavailable' }, headers), json(200, GRANT)));
    const delays: number[] = [];
    const { lwa } = client(server.url, { sleep: async (ms) => void delays.push(ms) });
    const result = await lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later() });
    expect(result.ok).toBe(true);
    expect(server.received).toHaveLength(2);
    expect(delays).toEqual([2000]);
  });

  it('a Retry-After that would end past the deadline is not waited for: one request, LWA\'s Retry-After handed back', async () => {
    const server = await startServer(json(429, { error: 'too_many_requests' }, { 'Retry-After': '60' }));
    const delays: number[] = [];
    const { lwa } = client(server.url, { sleep: async (ms) => void delays.push(ms), exchangeTimeoutMs: 1_000 });
    const result = await lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: later(30_000) });
    expect(result.ok === false && result.failure).toMatchObject({ kind: 'unavailable', status: 429, attempts: 1, retryAfterSeconds: 60 });
    expect(server.received).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('503 text/html every time: the retries stop at the deadline however many attempts are allowed', async () => {
    const server = await startServer((res) => {
      res.writeHead(503, { 'Content-Type': 'text/html' });
      res.end('<html><body>Service Unavailable</body></html>');
    });
    const start = Date.now();
    let offset = 0;
    const clock: Clock = { now: () => new Date(start + offset) };
    const { lwa } = client(server.url, {
      clock,
      exchangeTimeoutMs: 1_000,
      retry: { maxAttempts: 50, baseDelayMs: 1, maxDelayMs: 1 },
      // Each pause moves the clock a minute on: a deadline 4 minutes out leaves room for 4 retries.
      sleep: async () => void (offset += 60_000),
    });
    const result = await lwa.exchangeCode({ code: CODE, redirectUri: REDIRECT, deadline: new Date(start + 240_000) });
    expect(result.ok === false && result.failure).toEqual({
      kind: 'unavailable',
      status: 503,
      error: undefined,
      description: undefined,
      attempts: 5,
    });
    expect(server.received).toHaveLength(5);
  });

});
