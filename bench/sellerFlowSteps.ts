import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import sql from 'mssql';
import type { SettingValues } from '../src/config/settingReader.js';
import { App, type Services } from '../src/app.js';
import { buildLaunchLink } from '../src/authorization/launchLink.js';
import { systemClock, type CredentialStore } from '../src/credentials/index.js';
import { startLocalHost } from '../src/http/localHost.js';
import { sandboxAmazonPages } from '../src/sandbox/sandboxAmazon.js';
import { SandboxLwa } from '../src/sandbox/sandboxLwa.js';
import { applyMigrations } from '../src/store/mssql/migrations.js';
import { MssqlEngine } from '../src/store/mssql/mssqlEngine.js';
import { closePool, getPool } from '../src/store/mssql/pool.js';
import { procedureName } from '../src/store/mssql/procedures.js';
import { OPERATIONS } from '../src/store/operations/index.js';
import { SqlStore } from '../src/store/sqlStore.js';
import { CookieClient } from '../test/support/cookieClient.js';
import { withSection } from './benchmarksDoc.js';
import { installLoopbackGuard, refusedConnections, selfTestLoopbackGuard } from './loopbackGuard.js';

/**
 * `npm run bench` (fourth part): the seller flow's two requests, one at a time, through the whole service as `npm start`
 * wires it (local host, App, loopback LWA, the sandbox Seller Central pages), on SQLite and, when
 * MSSQL_TEST_CONNECTION_STRING names a SQL Server (or Babelfish) on loopback, on SQL Server with the same code:
 *   AuthorizeStart: GET /api/authorize with a launch link → 302 (one round trip to the store);
 *   the callback excluding LWA: GET /api/lwa-callback → 303, less the time the App's lwa.exchangeCode took (three
 *   round trips to the store: the attempt read, acceptCallback, completeAuthorization).
 * For SQL Server the App's store is swapped for the SQL Server store over a throw-away schema (the routes take the store
 * from the services on each request); its pool is the app's (getPool: Nagle's algorithm off).
 * The goal, checked here: the callback excluding LWA on SQL Server at most 3x the SQLite store's p50 in the same run.
 */
const WARMUP = 20;
const MEASURED = 200;
const GOAL_RATIO = 3;
const CLIENT_ID = 'amzn1.application-oa2-client.benchsteps000000000000000000';
const APPLICATION_ID = 'amzn1.sp.solution.11111111-2222-4333-8444-555555555555';
const SECTION_MARKERS = { start: '<!-- seller-flow-steps:start -->', end: '<!-- seller-flow-steps:end -->' };

interface Timings {
  start: number[];
  /** The callback request alone (its 303). */
  callback: number[];
  /** The callback and the result page its 303 leads to, as a browser loads them. */
  page: number[];
}

interface Env {
  origin: string;
  launchLinkSecret: string;
  /** Milliseconds spent in lwa.exchangeCode by the last callback, and how many exchanges succeeded so far. */
  lastExchangeMs: () => number;
  exchanges: () => number;
}

async function authorizeOnce(env: Env, customerId: string, sellingPartnerId: string): Promise<{ startMs: number; callbackMs: number; pageMs: number }> {
  const exchangesBefore = env.exchanges();
  const client = new CookieClient();
  const link = buildLaunchLink(env.origin, { customerId, marketplace: 'DE', expires: Math.floor(Date.now() / 1000) + 600 }, env.launchLinkSecret);
  const t0 = performance.now();
  const start = await client.get(link);
  const startMs = performance.now() - t0;
  if (start.status !== 302 || start.location === undefined) throw new Error(`AuthorizeStart answered ${start.status}`);
  const consent = await client.get(start.location);
  const consentId = /name="consent" value="([^"]+)"/.exec(consent.body)?.[1];
  if (consent.status !== 200 || consentId === undefined) throw new Error(`the consent page answered ${consent.status}`);
  const decided = await client.postForm(`${env.origin}/sandbox/sellercentral/apps/authorize/decide`, {
    consent: consentId,
    decision: 'confirm',
    selling_partner_id: sellingPartnerId,
  });
  if (decided.status !== 302 || decided.location === undefined) throw new Error(`the consent decision answered ${decided.status}`);
  // The callback alone: its 303 to the result page is not followed (the result page reads no store).
  const cookie = [...client.jar.values()].map((c) => `${c.name}=${c.value}`).join('; ');
  const t1 = performance.now();
  const callback = await fetch(decided.location, { headers: { Cookie: cookie }, redirect: 'manual' });
  await callback.text();
  const callbackMs = performance.now() - t1 - env.lastExchangeMs();
  if (callback.status !== 303) throw new Error(`LWACallback answered ${callback.status}`);
  // Each measured callback must have exchanged its code (a refused one would time a shorter path).
  if (env.exchanges() !== exchangesBefore + 1) throw new Error('a callback did not exchange its code');
  const t2 = performance.now();
  const result = await fetch(new URL(callback.headers.get('location') ?? '', env.origin), { headers: { Cookie: cookie } });
  const page = await result.text();
  const pageMs = callbackMs + performance.now() - t2;
  if (result.status !== 200 || !page.includes('Shipica is authorized')) throw new Error(`the result page answered ${result.status}`);
  return { startMs, callbackMs, pageMs };
}

async function measure(env: Env, label: string): Promise<Timings> {
  const timings: Timings = { start: [], callback: [], page: [] };
  // One customer and one sandbox seller per store: the first authorization, then re-authorizations of the same row.
  const customerId = `${label}-${randomBytes(3).toString('hex')}`;
  for (let i = 0; i < WARMUP + MEASURED; i += 1) {
    const { startMs, callbackMs, pageMs } = await authorizeOnce(env, customerId, 'A1SANDBOXSELLER1');
    if (i >= WARMUP) {
      timings.start.push(startMs);
      timings.callback.push(callbackMs);
      timings.page.push(pageMs);
    }
  }
  return timings;
}

/** The SQL Server store over a fresh schema, and how to drop it again. */
async function sqlServerStore(connectionString: string): Promise<{ store: CredentialStore; drop(): Promise<void> }> {
  const schema = `spapi_bench_${randomBytes(4).toString('hex')}`;
  const admin = await new sql.ConnectionPool(connectionString).connect();
  await applyMigrations(admin, { schema });
  const pool = await getPool({ kind: 'mssql', connectionString });
  return {
    store: new SqlStore(new MssqlEngine(pool, schema)),
    drop: async () => {
      await closePool(pool);
      const t = (name: string) => `[${schema}].[${name}]`;
      const tables = ['sp_api_events', 'sp_api_access_tokens', 'service_heartbeat', 'sp_api_credential_checks', 'sp_api_auth_attempts', 'sp_api_credentials', 'schema_migrations'];
      await admin.request().batch(
        [
          ...OPERATIONS.map((o) => `DROP PROCEDURE IF EXISTS ${t(procedureName(o))};`),
          `DROP VIEW IF EXISTS ${t('sp_api_credentials_status')};`,
          ...tables.map((name) => `DROP TABLE IF EXISTS ${t(name)};`),
          `DROP SCHEMA IF EXISTS [${schema}];`,
        ].join('\n'),
      );
      await admin.close();
    },
  };
}

const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
};
const ms = (value: number): string => (value >= 10 ? value.toFixed(1) : value.toFixed(2));

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = net.createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function main(): Promise<void> {
  installLoopbackGuard();
  selfTestLoopbackGuard();
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    const clientSecret = `amzn1.oa2-cs.v1.${randomBytes(24).toString('hex')}`;
    const sandbox = new SandboxLwa({ clientId: CLIENT_ID, clientSecret, clock: systemClock });
    const lwaServer = http.createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const reply = sandbox.handleTokenRequest(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(reply.status, { 'Content-Type': 'application/json;charset=UTF-8' });
        res.end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((done) => lwaServer.listen(0, '127.0.0.1', done));
    cleanups.push(() => new Promise<void>((done) => lwaServer.close(() => done())));
    const lwaAddress = lwaServer.address();
    if (lwaAddress === null || typeof lwaAddress === 'string') throw new Error('loopback LWA has no port');

    const dir = mkdtempSync(join(os.tmpdir(), 'spapi-bench-steps-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const origin = `http://localhost:${port}`;
    const launchLinkSecret = randomBytes(32).toString('base64url');
    const values: SettingValues = {
      SPAPI_APPLICATION_ID: APPLICATION_ID,
      SPAPI_REDIRECT_URI: `${origin}/api/lwa-callback`,
      LWA_CLIENT_ID: CLIENT_ID,
      LWA_CLIENT_SECRET: clientSecret,
      LWA_TOKEN_URL: `http://127.0.0.1:${lwaAddress.port}/auth/o2/token`,
      SELLER_CENTRAL_URL: `${origin}/sandbox/sellercentral`,
      LAUNCH_LINK_SECRET: launchLinkSecret,
      TOKEN_ENCRYPTION_KEYS: `bench1:${randomBytes(32).toString('base64')}`,
      LOCAL_DB_PATH: join(dir, 'store.sqlite'),
    };
    const quiet = { info: () => undefined, warn: () => undefined, error: (message: string) => process.stderr.write(`${message}\n`) };
    const app = new App({ values, environment: { inAzure: false }, logger: quiet });
    cleanups.push(() => app.close());
    const state = await app.state();
    if (!state.ok) throw new Error(`app not configured: ${state.problems.join('; ')}`);
    const services: Services = state.services;
    let exchangeMs = 0;
    let exchanges = 0;
    const exchange = services.lwa.exchangeCode.bind(services.lwa);
    services.lwa.exchangeCode = async (input) => {
      const t = performance.now();
      const result = await exchange(input);
      exchangeMs = performance.now() - t;
      if (result.ok) exchanges += 1;
      return result;
    };
    const pages = sandboxAmazonPages({
      lwa: sandbox,
      applicationId: APPLICATION_ID,
      redirectUris: [`${origin}/api/lwa-callback`],
      loginUri: `${origin}/api/login`,
      draftApp: false,
      listAuthorizations: async () => services.store.listCredentials(),
    });
    const host = await startLocalHost({ app, logger: quiet, port, pages });
    cleanups.push(() => host.close());
    const env: Env = { origin, launchLinkSecret, lastExchangeMs: () => exchangeMs, exchanges: () => exchanges };

    process.stdout.write(`Seller flow steps: SQLite, ${WARMUP} + ${MEASURED} authorizations …\n`);
    const local = await measure(env, 'sqlite');
    const connectionString = process.env['MSSQL_TEST_CONNECTION_STRING']?.trim() || undefined;
    let server: Timings | undefined;
    if (connectionString !== undefined) {
      process.stdout.write(`Seller flow steps: SQL Server, ${WARMUP} + ${MEASURED} authorizations …\n`);
      const opened = await sqlServerStore(connectionString);
      cleanups.push(() => opened.drop());
      const sqliteStore = services.store;
      services.store = opened.store;
      try {
        server = await measure(env, 'mssql');
      } finally {
        services.store = sqliteStore;
      }
    }
    if (refusedConnections.length > 0) throw new Error(`the loopback guard refused ${refusedConnections.join(', ')}`);

    const row = (name: string, t: Timings): string =>
      `| ${name} | ${ms(percentile(t.start, 0.5))} | ${ms(percentile(t.start, 0.99))} | ${ms(percentile(t.callback, 0.5))} | ${ms(percentile(t.callback, 0.99))} | ${ms(percentile(t.page, 0.5))} |`;
    const ratio = server === undefined ? undefined : percentile(server.callback, 0.5) / percentile(local.callback, 0.5);
    const text = [
      SECTION_MARKERS.start,
      '# The seller flow on SQLite and SQL Server, one request at a time',
      '',
      `Run on ${new Date().toISOString().slice(0, 10)} with \`npm run bench\` (\`bench/sellerFlowSteps.ts\`), ${MEASURED} website authorizations per store`,
      `after ${WARMUP} unmeasured ones (one customer and one sandbox seller per store: re-authorizations of one row), through the whole service as \`npm start\` wires it`,
      '(local host, App, the sandbox Seller Central pages, a loopback LWA). AuthorizeStart is the launch link\'s request (one',
      'store round trip); the callback is Amazon\'s redirect to LWACallback less the time `lwa.exchangeCode` took (three round',
      'trips: the attempt read, `acceptCallback`, `completeAuthorization`, the two writes each one EXEC of a stored procedure on',
      'SQL Server); the last column adds the result page its 303 leads to (no store call), as a browser loads both. SQL',
      'Server runs only when `MSSQL_TEST_CONNECTION_STRING` is set, over a throw-away schema.',
      '',
      '| store | AuthorizeStart p50 (ms) | p99 | callback excluding LWA p50 (ms) | p99 | callback + result page p50 |',
      '|---|---:|---:|---:|---:|---:|',
      row('SQLite (one file, WAL)', local),
      server === undefined ? '| SQL Server | not run: MSSQL_TEST_CONNECTION_STRING is not set | | | | |' : row('SQL Server', server),
      '',
      ratio === undefined
        ? `Goal: the callback on SQL Server at most ${GOAL_RATIO}x SQLite's p50; not measured in this run.`
        : `Goal: the callback on SQL Server at most ${GOAL_RATIO}x SQLite's p50. This run: ${ratio.toFixed(2)}x (${ratio <= GOAL_RATIO ? 'met' : 'NOT met'}).`,
      '',
      `Machine: ${os.cpus()[0]?.model.trim() ?? 'unknown'}, ${os.cpus().length} cores, Node ${process.version}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}.`,
      SECTION_MARKERS.end,
    ].join('\n');
    process.stdout.write(`${text}\n`);
    const doc = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'docs', 'benchmarks.md');
    writeFileSync(doc, `${withSection(readFileSync(doc, 'utf8'), text, SECTION_MARKERS).trimEnd()}\n`);
    if (ratio !== undefined && ratio > GOAL_RATIO) process.exitCode = 1;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

await main();
