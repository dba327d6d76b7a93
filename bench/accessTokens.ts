import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingMessage, type OutgoingHttpHeaders, type RequestOptions, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import axios from 'axios';
import Database from 'better-sqlite3';
import type { SettingValues } from '../src/config/settingReader.js';
import { systemClock, type LogFields, type Logger } from '../src/credentials/index.js';
import { App, type Services } from '../src/app.js';
import { startLocalHost } from '../src/http/localHost.js';
import { SandboxLwa } from '../src/sandbox/sandboxLwa.js';
import { installLoopbackGuard, refusedConnections, selfTestLoopbackGuard } from './loopbackGuard.js';

/**
 * `npm run bench`: access-token throughput and single-flight, ours against `@sp-api-sdk/auth`, in one run against one
 * loopback LWA (the sandbox's token endpoint behind a 127.0.0.1 HTTP server). Prints a table and writes it, with the
 * machine, to docs/benchmarks.md. Speed is reported as ratios against the SDK measured in the same run.
 *
 * Nothing may leave the machine: every outgoing socket connection is checked (see installLoopbackGuard), and the SDK
 * only runs once its private axios instance has been shown to send to the loopback LWA.
 */

const REPEATS = 5;
const CACHED_LOOP_MS = 1_500;
const CONCURRENT = 1_000;
/** Connections the HTTP benchmark's client may open at once (below the local host's listen backlog of 511). */
const HTTP_CLIENT_SOCKETS = 256;
const CUSTOMER_ID = 'bench42';
const SELLING_PARTNER_ID = 'A1BENCHSELLER1';
const REGION = 'NA' as const;
const CLIENT_ID = 'amzn1.application-oa2-client.bench000000000000000000000000';
const AMAZON_LWA_HOST = 'api.amazon.com';
const COMMAND = 'npm run bench';

// ---- the loopback LWA -------------------------------------------------------------------------------------------

type Side = 'ours' | 'sdk';

interface SideRecord {
  /** Token requests answered, by grant type. */
  grants: Record<string, number>;
  total: number;
  /** Request-target / Host combinations seen (e.g. "POST /auth/o2/token host=api.amazon.com"). */
  targets: Set<string>;
  /** The last access token handed to this side. */
  lastAccessToken: string | undefined;
}

interface LoopbackLwa {
  port: number;
  /** Where our LwaClient posts (form bodies). */
  url: string;
  sides: Record<Side, SideRecord>;
  /** Requests that were neither a form nor a JSON token request on an accepted path. */
  rejected: number;
  close(): Promise<void>;
}

const TOKEN_PATHS = new Set(['/auth/o2/token', `https://${AMAZON_LWA_HOST}/auth/o2/token`]);

/**
 * One LWA for both clients: the sandbox's token endpoint (`SandboxLwa.handleTokenRequest`) on 127.0.0.1. Ours posts a
 * form; the SDK posts JSON. The body is parsed by Content-Type and the request is counted for that side.
 */
async function startLoopbackLwa(sandbox: SandboxLwa): Promise<LoopbackLwa> {
  const record = (): SideRecord => ({ grants: {}, total: 0, targets: new Set(), lastAccessToken: undefined });
  const sides: Record<Side, SideRecord> = { ours: record(), sdk: record() };
  let rejected = 0;

  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8' });
        res.end(JSON.stringify(body));
      };
      const type = (req.headers['content-type'] ?? '').toLowerCase();
      const text = Buffer.concat(chunks).toString('utf8');
      let side: Side | undefined;
      let form: URLSearchParams | undefined;
      if (type.startsWith('application/x-www-form-urlencoded')) {
        side = 'ours';
        form = new URLSearchParams(text);
      } else if (type.startsWith('application/json')) {
        side = 'sdk';
        form = jsonForm(text);
      }
      if (req.method !== 'POST' || !TOKEN_PATHS.has(req.url ?? '') || side === undefined || form === undefined) {
        rejected++;
        answer(400, { error: 'invalid_request', error_description: 'not a token request this loopback LWA understands' });
        return;
      }
      const seen = sides[side];
      seen.total++;
      const grant = form.get('grant_type') ?? '(none)';
      seen.grants[grant] = (seen.grants[grant] ?? 0) + 1;
      seen.targets.add(`${req.method} ${req.url ?? ''} host=${req.headers.host ?? ''}`);
      const result = sandbox.handleTokenRequest(form);
      if (typeof result.body['access_token'] === 'string') seen.lastAccessToken = result.body['access_token'];
      answer(result.status, result.body);
    });
  });
  // Clients keep connections alive: the server must not close idle ones mid-run (Node's default is 5 s), or a burst
  // could start on a connection the server has just closed and get ECONNRESET.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('loopback LWA has no port');
  return {
    port: address.port,
    url: `http://127.0.0.1:${address.port}/auth/o2/token`,
    sides,
    get rejected() {
      return rejected;
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

function jsonForm(text: string): URLSearchParams | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    return new URLSearchParams(Object.entries(parsed).map(([key, value]): [string, string] => [key, String(value)]));
  } catch {
    return undefined;
  }
}

// ---- our side ---------------------------------------------------------------------------------------------------

interface Logs {
  logger: Logger;
  problems: string[];
}

function collectingLogger(): Logs {
  const problems: string[] = [];
  const keep = (level: string) => (message: string, fields?: LogFields) => {
    if (level !== 'info') problems.push(`${level}: ${message}${fields === undefined ? '' : ` ${JSON.stringify(fields)}`}`);
  };
  return { logger: { info: keep('info'), warn: keep('warn'), error: keep('error') }, problems };
}

async function servicesOf(app: App): Promise<Services> {
  const state = await app.state();
  if (!state.ok) throw new Error(`app not configured: ${state.problems.join('; ')}`);
  return state.services;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Puts one authorized (customer, region) row in place: a code issued by the sandbox, exchanged at the loopback LWA by
 * our LwaClient, and the refresh token stored encrypted as the callback would. Returns the plain refresh token (the SDK
 * is given the same one).
 */
async function seedAuthorization(services: Services, sandbox: SandboxLwa, redirectUri: string): Promise<string> {
  const now = new Date();
  const code = sandbox.issueCode({ redirectUri, sellingPartnerId: SELLING_PARTNER_ID });
  const exchanged = await services.lwa.exchangeCode({ code, redirectUri, deadline: new Date(now.getTime() + 30_000) });
  if (!exchanged.ok) throw new Error(`code exchange at the loopback LWA failed: ${exchanged.failure.kind}`);
  const refreshToken = exchanged.value.refreshToken;

  const { store, cipher } = services;
  const stateHash = sha256(`state-${randomBytes(16).toString('hex')}`);
  await store.startAuthorization({
    stateHash,
    browserBindingHash: sha256(`browser-${randomBytes(16).toString('hex')}`),
    flow: 'website',
    expectedSellingPartnerId: null,
    customerId: CUSTOMER_ID,
    region: REGION,
    marketplace: 'US',
    createdAt: now,
    expiresAt: new Date(now.getTime() + 600_000),
  });
  const attempt = await store.findAttemptByStateHash(stateHash);
  if (attempt === undefined) throw new Error('started attempt not found');
  if (!(await store.consumeAttempt({ stateHash, now: new Date(now.getTime() + 1), sellingPartnerId: SELLING_PARTNER_ID, codeHash: sha256(code), exchangeDeadline: new Date(now.getTime() + 600_000) }))) {
    throw new Error('attempt could not be consumed');
  }
  const stored = await store.completeAuthorization({
    attemptId: attempt.attemptId,
    customerId: CUSTOMER_ID,
    region: REGION,
    marketplace: 'US',
    sellingPartnerId: SELLING_PARTNER_ID,
    encryptedRefreshToken: cipher.encrypt(refreshToken, { column: 'lwa_refresh_token', customerId: CUSTOMER_ID, region: REGION }),
    now: new Date(now.getTime() + 2),
  });
  if (stored !== 'stored') throw new Error(`authorization not stored: ${stored}`);
  return refreshToken;
}

// ---- measuring --------------------------------------------------------------------------------------------------

interface Cached {
  opsPerSecond: number;
  lwaCalls: number;
}

/** Awaited calls in a tight loop for about `durationMs` (at most 100 M calls); calls per second, and LWA calls made. */
async function cachedLookups(side: SideRecord, call: () => Promise<boolean>, durationMs = CACHED_LOOP_MS): Promise<Cached> {
  await settle();
  const before = side.total;
  const opsPerSecond = await cachedOpsPerSecond(call, durationMs);
  return { opsPerSecond, lwaCalls: side.total - before };
}

async function cachedOpsPerSecond(call: () => Promise<boolean>, durationMs: number): Promise<number> {
  const BATCH = 1_000;
  const MAX_BATCHES = 100_000;
  const start = performance.now();
  let now = start;
  let ops = 0;
  for (let batch = 0; batch < MAX_BATCHES && now - start < durationMs; batch++) {
    for (let i = 0; i < BATCH; i++) {
      if (!(await call())) throw new Error('a cached lookup failed');
    }
    ops += BATCH;
    now = performance.now();
  }
  return ops / ((now - start) / 1000);
}

/**
 * Lets the event loop run I/O and timers before a measurement: the cached loops only await settled promises, so they
 * never yield to it, and whatever arrived meanwhile (socket closes, timers) would otherwise land in the next one.
 */
const settle = () => new Promise<void>((done) => setTimeout(done, 20));

interface Burst {
  ms: number;
  lwaCalls: number;
}

/** `CONCURRENT` calls started at once; wall time until all have answered, and the LWA requests it caused. */
async function burst(side: SideRecord, start: () => Promise<string>): Promise<Burst> {
  await settle();
  const before = side.total;
  const t0 = performance.now();
  const tokens = await Promise.all(Array.from({ length: CONCURRENT }, start));
  const ms = performance.now() - t0;
  const distinct = new Set(tokens);
  if (distinct.size !== 1) throw new Error(`${CONCURRENT} concurrent requests got ${distinct.size} different tokens`);
  return { ms, lwaCalls: side.total - before };
}

function postForToken(agent: http.Agent, port: number, path: string): Promise<string> {
  return new Promise((resolveToken, reject) => {
    const headers: OutgoingHttpHeaders = { 'Content-Length': '0', Accept: 'application/json' };
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`POST ${path} answered ${res.statusCode ?? '?'}: ${body.slice(0, 200)}`));
        const token = (JSON.parse(body) as { access_token?: unknown }).access_token;
        if (typeof token !== 'string') return reject(new Error(`POST ${path} answered without access_token`));
        resolveToken(token);
      });
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`POST ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** One cold burst on a fresh app whose store counts the reads the burst makes. */
async function countStoreReads(
  app: App,
  side: SideRecord,
  request: { customerId: string; region: typeof REGION },
): Promise<{ listCredentialsFor: number; findCredential: number; readAccessTokenSource: number; lwaCalls: number }> {
  try {
    const { accessTokens, store } = await servicesOf(app);
    const counts = { listCredentialsFor: 0, findCredential: 0, readAccessTokenSource: 0 };
    const listCredentialsFor = store.listCredentialsFor.bind(store);
    const findCredential = store.findCredential.bind(store);
    const readAccessTokenSource = store.readAccessTokenSource.bind(store);
    store.readAccessTokenSource = (customerId, region) => {
      counts.readAccessTokenSource++;
      return readAccessTokenSource(customerId, region);
    };
    store.listCredentialsFor = (filter) => {
      counts.listCredentialsFor++;
      return listCredentialsFor(filter);
    };
    store.findCredential = (customerId, region) => {
      counts.findCredential++;
      return findCredential(customerId, region);
    };
    const { lwaCalls } = await burst(side, async () => {
      const result = await accessTokens.get(request);
      if (!result.ok) throw new Error(`access token failed: ${result.error}`);
      return result.token.accessToken;
    });
    return { ...counts, lwaCalls };
  } finally {
    await app.close();
  }
}

const CACHED_COUNTED = 10_000;

interface CachedStoreCalls {
  requests: number;
  withRegion: number;
  withoutRegion: number;
}

/**
 * Untimed: store calls made by CACHED_COUNTED cached lookups, naming the region and not, counted on the store
 * object itself (every method, not only the reads we expect; on SQL Server each call is a round trip). The cache is
 * warm and within ACCESS_TOKEN_RECHECK_SECONDS, as for a caller asking before every SP-API call.
 */
async function countCachedStoreCalls(services: Services, request: { customerId: string; region: typeof REGION }): Promise<CachedStoreCalls> {
  const { accessTokens, store } = services;
  const regionless = { customerId: request.customerId };
  for (const warm of [request, regionless]) {
    if (!(await accessTokens.get(warm)).ok) throw new Error('warming the cache failed');
  }
  let count = 0;
  const target = store as unknown as Record<string, unknown>;
  const wrapped: string[] = [];
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(store) as object)) {
    const original = target[name];
    if (name === 'constructor' || typeof original !== 'function') continue;
    target[name] = (...args: unknown[]) => {
      count++;
      return (original as (...a: unknown[]) => unknown).apply(store, args);
    };
    wrapped.push(name);
  }
  try {
    const callsFor = async (r: { customerId: string; region?: typeof REGION }): Promise<number> => {
      const before = count;
      for (let i = 0; i < CACHED_COUNTED; i++) {
        if (!(await accessTokens.get(r)).ok) throw new Error('a cached lookup failed');
      }
      return count - before;
    };
    return { requests: CACHED_COUNTED, withRegion: await callsFor(request), withoutRegion: await callsFor(regionless) };
  } finally {
    for (const name of wrapped) delete target[name]; // the prototype's methods show through again
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
};

// ---- the SDK ----------------------------------------------------------------------------------------------------

interface SdkAuth {
  getAccessToken(): Promise<string>;
}
type SdkFactory = (refreshToken: string) => SdkAuth;

interface AxiosDefaultsBackup {
  transport: unknown;
  proxy: unknown;
  maxRedirects: unknown;
}

/**
 * Why the SDK can or cannot be pointed at the loopback LWA: it must resolve the very axios module this script
 * configures (its private instance is created from that module's defaults when it is imported).
 */
function axiosIdentity(): { ok: true; detail: string } | { ok: false; reason: string } {
  const require = createRequire(import.meta.url);
  try {
    const oursCjs = require.resolve('axios');
    const oursPackage = require.resolve('axios/package.json');
    const oursEsm = fileURLToPath(import.meta.resolve('axios'));
    const sdkEntry = require.resolve('@sp-api-sdk/auth');
    const fromSdk = createRequire(sdkEntry);
    const sdkCjs = fromSdk.resolve('axios');
    const sdkPackage = fromSdk.resolve('axios/package.json');
    if (oursCjs !== sdkCjs || oursPackage !== sdkPackage) {
      return { ok: false, reason: `the SDK resolves axios at ${sdkCjs}, this project at ${oursCjs}: its private axios instance would not see our defaults` };
    }
    if (!oursEsm.startsWith(dirname(oursPackage))) {
      return { ok: false, reason: `the ESM import of axios (${oursEsm}) is not in the package the SDK resolves (${dirname(oursPackage)})` };
    }
    return { ok: true, detail: `one axios module for this project and the SDK (${relative(process.cwd(), dirname(oursPackage)) || '.'})` };
  } catch (error) {
    return { ok: false, reason: `could not resolve axios for the SDK: ${error instanceof Error ? error.message : 'unknown error'}` };
  }
}

/**
 * Points every axios instance created from now on at the loopback LWA, then imports the SDK so its private instance
 * (baseURL https://api.amazon.com/auth/) inherits that:
 *  - `transport`: axios hands the finished request (method, path, headers, body) to this function instead of
 *    http/https; it sends it as plain HTTP to 127.0.0.1:<port>, keeping the path and setting Host to the host the
 *    SDK meant, so the loopback LWA can tell what the SDK asked for. Nothing else is changed in the request.
 *  - `proxy: false` so no environment proxy applies, `maxRedirects: 0` so nothing is followed.
 * (A `proxy` default does not work with axios 1.21: for an https target it opens a CONNECT tunnel and speaks TLS to
 * api.amazon.com inside it, which a loopback HTTP server cannot answer.)
 */
async function loadSdkAgainst(
  lwa: LoopbackLwa,
  clientSecret: string,
): Promise<{ ok: true; create: SdkFactory; backup: AxiosDefaultsBackup; detail: string } | { ok: false; reason: string }> {
  const identity = axiosIdentity();
  if (!identity.ok) return identity;

  // Only method, path and headers are taken from axios's options; where to connect is fixed here.
  const loopbackRequest = (options: RequestOptions, callback?: (res: IncomingMessage) => void) => {
    const headers: OutgoingHttpHeaders = { ...(options.headers as OutgoingHttpHeaders | undefined) };
    if (typeof options.hostname === 'string') headers['host'] = options.hostname;
    return http.request({ protocol: 'http:', hostname: '127.0.0.1', port: lwa.port, method: options.method, path: options.path, headers }, callback);
  };
  const defaults = axios.defaults as typeof axios.defaults & { transport?: unknown };
  const backup: AxiosDefaultsBackup = { transport: defaults.transport, proxy: defaults.proxy, maxRedirects: defaults.maxRedirects };
  defaults.transport = { request: loopbackRequest };
  defaults.proxy = false;
  defaults.maxRedirects = 0;

  // Without a request: an instance created now, as the SDK creates its own, must carry the loopback transport.
  const probe = axios.create({ baseURL: `https://${AMAZON_LWA_HOST}/auth/`, timeout: 30_000 });
  const probeDefaults = probe.defaults as typeof probe.defaults & { transport?: { request?: unknown } };
  if (probeDefaults.transport?.request !== loopbackRequest || probeDefaults.proxy !== false) {
    restoreAxiosDefaults(backup);
    return { ok: false, reason: 'an axios instance created after setting the defaults did not inherit the loopback transport' };
  }

  const { SellingPartnerApiAuth } = await import('@sp-api-sdk/auth');
  const create: SdkFactory = (refreshToken) => new SellingPartnerApiAuth({ clientId: CLIENT_ID, clientSecret, refreshToken });
  return { ok: true, create, backup, detail: identity.detail };
}

class SdkAborted extends Error {}

function restoreAxiosDefaults(backup: AxiosDefaultsBackup): void {
  const defaults = axios.defaults as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(backup)) {
    if (value === undefined) delete defaults[key];
    else defaults[key] = value;
  }
}

// ---- report -----------------------------------------------------------------------------------------------------

interface Results {
  oursCached: Cached[];
  oursBurst: Burst[];
  oursHttp: Burst[];
  sdk: { cached: Cached[]; burst: Burst[] } | { skipped: string };
  storeCalls: CachedStoreCalls;
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const perCached = (c: CachedStoreCalls) => `${c.withRegion / c.requests} / ${c.withoutRegion / c.requests}`;
const fmtMs = (n: number) => (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));
const fmtRatio = (n: number) => (n >= 10 ? n.toFixed(1) : n.toFixed(2));
const spread = (values: number[], fmt: (n: number) => string) => `${fmt(median(values))} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`;
const calls = (runs: Array<{ lwaCalls: number }>) => runs.map((b) => b.lwaCalls).join(', ');
const ops = (runs: Cached[]) => runs.map((c) => c.opsPerSecond);

function machine(): string[] {
  const cpus = os.cpus();
  return [
    `CPU: ${cpus[0]?.model.trim() ?? 'unknown'}, ${cpus.length} cores (available parallelism ${os.availableParallelism()})`,
    `Memory: ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    `Node: ${process.version}`,
    `OS: ${os.type()} ${os.release()} (${os.platform()}/${os.arch()})`,
  ];
}

function table(r: Results): string[] {
  const sdk = 'skipped' in r.sdk ? undefined : r.sdk;
  const na = 'n/a';
  return [
    '| Measurement (median of 5, min–max) | ours | `@sp-api-sdk/auth` 3.1.4 | LWA calls, ours (each run) | LWA calls, SDK (each run) |',
    '|---|---:|---:|---:|---:|',
    `| Cached lookups per second, in-process (awaited loop, ~${CACHED_LOOP_MS / 1000} s) | ${spread(ops(r.oursCached), fmtInt)} | ${sdk ? spread(ops(sdk.cached), fmtInt) : na} | ${calls(r.oursCached)} | ${sdk ? calls(sdk.cached) : na} |`,
    `| ${fmtInt(CONCURRENT)} concurrent requests, one seller, cold cache, in-process: wall time (ms) | ${spread(r.oursBurst.map((b) => b.ms), fmtMs)} | ${sdk ? spread(sdk.burst.map((b) => b.ms), fmtMs) : na} | ${calls(r.oursBurst)} | ${sdk ? calls(sdk.burst) : na} |`,
    `| ${fmtInt(CONCURRENT)} concurrent POST /api/customers/{id}/access-token, cold cache, over HTTP: wall time (ms) | ${spread(r.oursHttp.map((b) => b.ms), fmtMs)} | ${na} (a library; no HTTP endpoint) | ${calls(r.oursHttp)} | ${na} |`,
    `| Store calls per cached access token (${fmtInt(r.storeCalls.requests)} untimed lookups each; with region / without) | ${perCached(r.storeCalls)} | ${na} (no store) | 0 | ${na} |`,
  ];
}

function ratios(r: Results): string[] {
  if ('skipped' in r.sdk) return [`No ratios: the SDK part did not run (${r.sdk.skipped}).`];
  const oursOps = median(ops(r.oursCached));
  const sdkOps = median(ops(r.sdk.cached));
  const oursBurst = median(r.oursBurst.map((b) => b.ms));
  const sdkBurst = median(r.sdk.burst.map((b) => b.ms));
  const oursHttp = median(r.oursHttp.map((b) => b.ms));
  return [
    `- Cached lookups per second, ours ÷ SDK: **${fmtRatio(oursOps / sdkOps)}×**`,
    `- ${fmtInt(CONCURRENT)} concurrent cold requests in-process, time SDK ÷ ours: **${fmtRatio(sdkBurst / oursBurst)}×** (above 1 means ours finished sooner)`,
    `- For scale, not a like-for-like comparison: ours over HTTP took ${fmtRatio(oursHttp / oursBurst)}× ours in-process and ${fmtRatio(oursHttp / sdkBurst)}× the SDK in-process.`,
  ];
}

function markdown(r: Results, context: { date: string; verification: string[]; warnings: string[]; storeReads: number }): string {
  return [
    '# Benchmarks: access tokens',
    '',
    'What `npm run bench` measures, for this service\'s `AccessTokenService` and for `@sp-api-sdk/auth` in the same',
    'run, on the same machine, against the same loopback LWA (the sandbox token endpoint, `SandboxLwa`, behind an HTTP',
    'server on 127.0.0.1): cached lookups per second in-process; the wall time of 1,000 concurrent requests for one',
    'seller with a cold cache and how many LWA calls they caused; and the same burst sent to this service over HTTP',
    '(the local host\'s `POST /api/customers/{customerId}/access-token`). Each figure is the median of 5 runs.',
    'The SDK posts to a hard-coded `https://api.amazon.com/auth/o2/token` through a private axios instance; it was',
    'pointed at the loopback LWA through axios defaults set before the SDK was imported (a `transport` that sends',
    'the request it is given to 127.0.0.1 as plain HTTP, with `proxy: false` and `maxRedirects: 0`), so no request',
    'left the machine. (A `proxy` default is not enough with axios 1.21: for an https URL it opens a CONNECT tunnel',
    'through the proxy and speaks TLS to api.amazon.com inside it.)',
    ...('skipped' in r.sdk ? [`**In this run the SDK part did not run:** ${r.sdk.skipped}.`] : []),
    'Speed is reported as ratios against the SDK measured in the same run, not as absolute targets: the absolute',
    'numbers depend on the machine below.',
    '',
    `Run on ${context.date} with \`${COMMAND}\`.`,
    '',
    ...table(r),
    '',
    '## Ratios',
    '',
    ...ratios(r),
    '',
    '## Machine',
    '',
    ...machine().map((line) => `- ${line}`),
    '',
    '## How it was measured',
    '',
    '- Cached lookups: one call warms the cache, then `await service.get({ customerId, region })` (ours) or',
    '  `await auth.getAccessToken()` (SDK) in a loop for about 1.5 s; each result is checked.',
    '- Cold bursts: ours on a fresh `App` (its store opened before timing, token cache empty); the SDK on a fresh',
    '  `SellingPartnerApiAuth`. Before each of ours the shared token row (sp_api_access_tokens) is deleted, so no',
    '  token exists anywhere. All 1,000 calls start at once; the time runs until the last one answered, and every',
    '  answer must carry the same token. LWA calls are the token requests the loopback LWA counted for that side',
    '  during the burst (ours sends a form body, the SDK JSON).',
    `- Over HTTP: a fresh \`App\` and local host per run; the 1,000 POSTs are issued at once from a keep-alive client`,
    `  with at most ${HTTP_CLIENT_SOCKETS} connections (under the host's listen backlog of 511, so the kernel does not drop`,
    '  connection attempts and add 1-second SYN retransmits, which would measure the kernel rather than the service).',
    `- Store calls per cached access token: after the cached loops, ${fmtInt(CACHED_COUNTED)} more untimed`,
    '  `service.get({ customerId, region })` calls and as many `service.get({ customerId })`, with every method of the',
    '  store object wrapped to count calls (each is a round trip on SQL Server). Within `ACCESS_TOKEN_RECHECK_SECONDS`',
    '  (default 60) a cached token needs none; after it, one read of the row re-checks the entry, then none again.',
    '- Our runs come first, then the SDK\'s (the axios defaults the SDK needs are set only for its part).',
    '- Every outgoing connection of the process went through a guard that refuses anything but 127.0.0.1,',
    '  localhost and ::1; it refused none.',
    '',
    '## Reading the figures',
    '',
    '- Cached lookups: ours serves many sellers from one bounded LRU map keyed by (customer, region) and checks the',
    "  60-second margin against the injected clock; the SDK holds one seller's token per instance and compares one",
    '  timestamp. Both cost well under a microsecond, next to an SP-API call of tens of milliseconds.',
    "- Cold bursts: ours reads the seller's row joined with the fleet's shared token row (once per burst: the lookup is",
    '  single-flighted), claims the refresh lease, decrypts its refresh token before the one LWA call, and writes the',
    '  token back sealed, only while the row still holds the credential it was made from (see the Fleet section); the',
    '  SDK is handed the refresh token in memory.',
    '',
    ...(context.storeReads > 1
      ? [
          '## Observations',
          '',
          `- In a cold burst every caller of ours reads the store (\`listCredentialsFor\`: ${fmtInt(context.storeReads)} reads for`,
          `  ${fmtInt(CONCURRENT)} requests, counted in an extra untimed burst) before it joins the single in-flight LWA refresh;`,
          "  the SDK's callers join its pending request without any I/O. On SQL Server each of those reads is a round trip.",
          '',
        ]
      : []),
    '## Checks in this run',
    '',
    ...context.verification.map((line) => `- ${line}`),
    ...(context.warnings.length > 0 ? ['', '## Warnings', '', ...context.warnings.map((line) => `- ${line}`)] : []),
    '',
  ].join('\n');
}

// ---- main -------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  installLoopbackGuard();
  selfTestLoopbackGuard();

  const cleanups: Array<() => Promise<void> | void> = [];
  const { logger, problems } = collectingLogger();
  try {
    const clientSecret = `amzn1.oa2-cs.v1.${randomBytes(24).toString('hex')}`;
    const sandbox = new SandboxLwa({ clientId: CLIENT_ID, clientSecret, clock: systemClock });
    const lwa = await startLoopbackLwa(sandbox);
    cleanups.push(() => lwa.close());

    const dir = mkdtempSync(join(os.tmpdir(), 'spapi-bench-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const redirectUri = 'http://localhost:7071/api/lwa-callback';
    const values: SettingValues = {
      SPAPI_APPLICATION_ID: 'amzn1.sp.solution.11111111-2222-4333-8444-555555555555',
      SPAPI_REDIRECT_URI: redirectUri,
      LWA_CLIENT_ID: CLIENT_ID,
      LWA_CLIENT_SECRET: clientSecret,
      LWA_TOKEN_URL: lwa.url,
      LAUNCH_LINK_SECRET: randomBytes(32).toString('base64url'),
      TOKEN_ENCRYPTION_KEYS: `bench1:${randomBytes(32).toString('base64')}`,
      LOCAL_DB_PATH: join(dir, 'store.sqlite'),
    };
    const newApp = () => new App({ values, environment: { inAzure: false }, logger });
    // A cold burst starts with no token anywhere: the fleet's shared token (sp_api_access_tokens) is deleted first too.
    const forgetSharedToken = () => {
      const db = new Database(String(values['LOCAL_DB_PATH']));
      try {
        db.prepare('DELETE FROM sp_api_access_tokens').run();
      } finally {
        db.close();
      }
    };

    // Our apps are all built before the SDK's axios defaults exist, so our LwaClient talks to the loopback LWA directly.
    const seedApp = newApp();
    cleanups.push(() => seedApp.close());
    const seed = await servicesOf(seedApp);
    const refreshToken = await seedAuthorization(seed, sandbox, redirectUri);
    const request = { customerId: CUSTOMER_ID, region: REGION };

    process.stdout.write(`Ours: ${REPEATS} × cached lookups, ${REPEATS} × ${CONCURRENT} concurrent in-process, ${REPEATS} × ${CONCURRENT} concurrent over HTTP …\n`);
    const warm = await seed.accessTokens.get(request);
    if (!warm.ok) throw new Error(`our first access token failed: ${warm.error}`);
    const oursCached: Cached[] = [];
    for (let i = 0; i < REPEATS; i++) oursCached.push(await cachedLookups(lwa.sides.ours, async () => (await seed.accessTokens.get(request)).ok));
    const lwaBeforeCounting = lwa.sides.ours.total;
    const storeCalls = await countCachedStoreCalls(seed, request);
    if (lwa.sides.ours.total !== lwaBeforeCounting) throw new Error('the counted cached lookups called LWA');

    const oursBurst: Burst[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const app = newApp();
      try {
        const { accessTokens } = await servicesOf(app);
        forgetSharedToken();
        oursBurst.push(
          await burst(lwa.sides.ours, async () => {
            const result = await accessTokens.get(request);
            if (!result.ok) throw new Error(`access token failed: ${result.error}`);
            return result.token.accessToken;
          }),
        );
      } finally {
        await app.close();
      }
    }

    // Not timed: the same cold burst once more, counting the store reads it makes (the timed runs are left unwrapped).
    forgetSharedToken();
    const storeReads = await countStoreReads(newApp(), lwa.sides.ours, request);

    const oursHttp: Burst[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const app = newApp();
      await servicesOf(app);
      const host = await startLocalHost({ app, logger, port: 0 });
      const agent = new http.Agent({ keepAlive: true, maxSockets: HTTP_CLIENT_SOCKETS });
      forgetSharedToken();
      try {
        const path = `/api/customers/${encodeURIComponent(CUSTOMER_ID)}/access-token?region=${REGION}`;
        oursHttp.push(await burst(lwa.sides.ours, () => postForToken(agent, host.port, path)));
      } finally {
        agent.destroy();
        await host.close();
        await app.close();
      }
    }

    const verification: string[] = [];
    const oursTargets = [...lwa.sides.ours.targets];
    verification.push(`Our LwaClient's requests reached the loopback LWA directly: ${lwa.sides.ours.total} requests (${grantsText(lwa.sides.ours)}), request lines ${oursTargets.map((t) => `\`${t}\``).join(', ')}.`);

    let sdk: Results['sdk'];
    process.stdout.write(`SDK: pointing @sp-api-sdk/auth at the loopback LWA …\n`);
    const loaded = await loadSdkAgainst(lwa, clientSecret);
    if (!loaded.ok) {
      sdk = { skipped: loaded.reason };
      process.stdout.write(`SDK part skipped: ${loaded.reason}\n`);
    } else {
      try {
        verification.push(`axios: ${loaded.detail}; an instance created after setting the defaults carried the loopback transport.`);
        // One call first: it must be counted by the loopback LWA and return the token that server issued.
        const canary = loaded.create(refreshToken);
        const before = lwa.sides.sdk.total;
        const token = await canary.getAccessToken().catch((error: unknown) => error);
        if (typeof token !== 'string' || lwa.sides.sdk.total !== before + 1 || token !== lwa.sides.sdk.lastAccessToken || refusedConnections.length > 0) {
          const why = token instanceof Error ? ` (${token.message})` : '';
          throw new SdkAborted(`the SDK's first call was not answered by the loopback LWA${why}: SDK part aborted`);
        }
        verification.push(
          `SDK canary: one getAccessToken() was counted by the loopback LWA (\`${[...lwa.sides.sdk.targets].join(', ')}\`) and returned the token it issued.`,
        );
        process.stdout.write(`SDK: ${REPEATS} × cached lookups, ${REPEATS} × ${CONCURRENT} concurrent in-process …\n`);
        const cached: Cached[] = [];
        for (let i = 0; i < REPEATS; i++) cached.push(await cachedLookups(lwa.sides.sdk, async () => typeof (await canary.getAccessToken()) === 'string'));
        const sdkBurst: Burst[] = [];
        for (let i = 0; i < REPEATS; i++) {
          const auth = loaded.create(refreshToken);
          sdkBurst.push(await burst(lwa.sides.sdk, () => auth.getAccessToken()));
        }
        sdk = { cached, burst: sdkBurst };
        verification.push(
          `All of the SDK's ${lwa.sides.sdk.total} token requests (${grantsText(lwa.sides.sdk)}) were counted by the loopback LWA, all as \`${[...lwa.sides.sdk.targets].join(', ')}\`.`,
        );
      } catch (error) {
        if (!(error instanceof SdkAborted)) throw error;
        sdk = { skipped: error.message };
        process.stdout.write(`${error.message}\n`);
      } finally {
        restoreAxiosDefaults(loaded.backup);
      }
    }
    verification.push(
      `Store reads in one extra, untimed ${fmtInt(CONCURRENT)}-request cold burst of ours (in-process): listCredentialsFor ${storeReads.listCredentialsFor}, findCredential ${storeReads.findCredential}, readAccessTokenSource ${storeReads.readAccessTokenSource}; LWA calls ${storeReads.lwaCalls}.`,
    );
    verification.push(
      `Store calls in ${fmtInt(storeCalls.requests)} untimed cached lookups of ours (every method of the store object counted): naming the region ${storeCalls.withRegion}, without a region ${storeCalls.withoutRegion}.`,
    );
    verification.push(`Loopback guard: ${refusedConnections.length} connection(s) refused${refusedConnections.length > 0 ? ` (${refusedConnections.join(', ')})` : ''}; requests the loopback LWA could not place: ${lwa.rejected}.`);
    if (refusedConnections.length > 0) throw new Error(`the loopback guard refused connections to: ${refusedConnections.join(', ')}`);

    const results: Results = { oursCached, oursBurst, oursHttp, sdk, storeCalls };
    const warnings = [
      ...[...oursBurst, ...oursHttp].some((b) => b.lwaCalls !== 1) ? [`ours made more or fewer than 1 LWA call in some bursts: ${calls(oursBurst)} / ${calls(oursHttp)}`] : [],
      ...('burst' in sdk && sdk.burst.some((b) => b.lwaCalls !== 1) ? [`the SDK made more or fewer than 1 LWA call in some bursts: ${calls(sdk.burst)}`] : []),
      ...problems.slice(0, 10).map((line) => `logged ${line}`),
    ];

    const out = [
      '',
      ...table(results),
      '',
      ...ratios(results),
      '',
      ...machine(),
      '',
      ...verification,
      ...(warnings.length > 0 ? ['', 'Warnings:', ...warnings] : []),
      '',
    ];
    process.stdout.write(out.join('\n'));

    const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
    const docs = join(root, 'docs');
    mkdirSync(docs, { recursive: true });
    const date = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    writeFileSync(join(docs, 'benchmarks.md'), markdown(results, { date, verification, warnings, storeReads: storeReads.listCredentialsFor }));
    process.stdout.write(`Written to ${join(docs, 'benchmarks.md')}\n`);
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        process.stderr.write(`cleanup failed: ${error instanceof Error ? error.message : 'unknown error'}\n`);
      }
    }
  }
}

function grantsText(side: SideRecord): string {
  return Object.entries(side.grants)
    .map(([grant, count]) => `${grant}: ${count}`)
    .join(', ');
}

main().then(
  () => {
    // Everything is closed; should a handle still hold the loop open, end anyway rather than hang.
    setTimeout(() => {
      process.stderr.write('bench: handles still open after cleanup; exiting\n');
      process.exit(process.exitCode ?? 0);
    }, 5_000).unref();
  },
  (error: unknown) => {
    const inner = typeof error === 'object' && error !== null ? (error as { code?: unknown; innerMessage?: unknown }) : {};
    const cause = [inner.code, inner.innerMessage].filter((v) => typeof v === 'string').join(': ');
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}${cause ? `\n  cause: ${cause}` : ''}\n`);
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 5_000).unref();
  },
);
