import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { SettingValues } from '../src/config/settingReader.js';
import { systemClock, type LogFields, type Logger } from '../src/credentials/index.js';
import { withSection } from './benchmarksDoc.js';
import { App, type Services } from '../src/app.js';
import { buildLaunchLink } from '../src/authorization/launchLink.js';
import { startLocalHost } from '../src/http/localHost.js';
import { sandboxAmazonPages } from '../src/sandbox/sandboxAmazon.js';
import { SandboxLwa } from '../src/sandbox/sandboxLwa.js';
import { CookieClient } from '../test/support/cookieClient.js';
import { installLoopbackGuard, refusedConnections, selfTestLoopbackGuard } from './loopbackGuard.js';

/**
 * `npm run bench` (second part): the crash window of a refresh token. Between the moment LWA has sent the answer to
 * a code exchange (a refresh token Amazon issued) and the commit of the transaction that stores it, a process that is
 * killed loses that token: the seller must authorize again. This measures that window end to end on SQLite: full
 * website authorizations (launch link → sandbox consent page → Confirm → callback) through the local host, against a
 * loopback LWA, with both ends timed by performance.now() in this one process:
 *   start = the LWA stand-in's response to the authorization_code request emitted 'finish' (its last byte handed to
 *           the kernel);
 *   end   = the store's completeAuthorization returned 'stored' (its transaction committed).
 * Run idle, and with a second better-sqlite3 connection (a worker thread) writing to the same file in a loop, which
 * sends the write through SQLite's busy wait and, when that runs out, the flow's retry (withStoreRetry).
 * Prints a table and writes it as the "Commit window" section of docs/benchmarks.md (replacing an earlier one).
 */

const WARMUP = 20;
const MEASURED = 300;
const CUSTOMER_ID = 'bench-window';
const CLIENT_ID = 'amzn1.application-oa2-client.benchwindow00000000000000000';
const APPLICATION_ID = 'amzn1.sp.solution.11111111-2222-4333-8444-555555555555';
const COMMAND = 'npm run bench';
const SECTION_START = '<!-- commit-window:start -->';
const SECTION_END = '<!-- commit-window:end -->';
const SECTION_MARKERS = { start: SECTION_START, end: SECTION_END };

/** A second connection's load: each transaction writes one row and keeps the write lock `holdMs`, then waits `gapMs`. */
interface Contention {
  label: string;
  holdMs: number;
  gapMs: number;
}

const SCENARIOS: ReadonlyArray<{ name: string; contention: Contention | undefined }> = [
  { name: 'idle: no other writer', contention: undefined },
  { name: 'other writer: one-row transactions, 1 ms apart', contention: { label: 'short', holdMs: 0, gapMs: 1 } },
  { name: 'slow other writer: holds the lock 20 ms, 20 ms apart', contention: { label: 'slow', holdMs: 20, gapMs: 20 } },
  { name: 'stuck other writer: holds the lock 250 ms (past the store\'s 200 ms busy_timeout), 250 ms apart', contention: { label: 'stuck', holdMs: 250, gapMs: 250 } },
];

// ---- the contending connection (a worker thread: a second connection in this thread could never overlap) ---------

interface ContenderInput {
  path: string;
  holdMs: number;
  gapMs: number;
  /** Int32 [0]: 1 = stop. */
  control: SharedArrayBuffer;
}

interface ContenderReport {
  transactions: number;
  busyErrors: number;
  heldMs: number;
  elapsedMs: number;
}

async function runContender(input: ContenderInput): Promise<void> {
  const { default: Database } = await import('better-sqlite3');
  const control = new Int32Array(input.control);
  const db = new Database(input.path);
  db.pragma('busy_timeout = 5000');
  db.exec('CREATE TABLE IF NOT EXISTS bench_contender (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, at REAL NOT NULL)');
  const upsert = db.prepare('INSERT INTO bench_contender (id, n, at) VALUES (1, 1, ?) ON CONFLICT(id) DO UPDATE SET n = n + 1, at = excluded.at');
  const write = db.transaction(() => {
    upsert.run(performance.now());
    // Keep the write lock as a slower writer would (a wider transaction, a slow disk).
    const until = performance.now() + input.holdMs;
    while (performance.now() < until) {
      /* spin */
    }
  });
  const report: ContenderReport = { transactions: 0, busyErrors: 0, heldMs: 0, elapsedMs: 0 };
  parentPort?.postMessage({ ready: true });
  const started = performance.now();
  while (Atomics.load(control, 0) === 0) {
    const t0 = performance.now();
    try {
      write.immediate();
      report.transactions++;
      report.heldMs += performance.now() - t0;
    } catch (error) {
      if (error instanceof Error && 'code' in error && typeof error.code === 'string' && error.code.startsWith('SQLITE_BUSY')) report.busyErrors++;
      else throw error;
    }
    if (input.gapMs > 0) Atomics.wait(control, 1, 0, input.gapMs);
  }
  report.elapsedMs = performance.now() - started;
  db.close();
  parentPort?.postMessage({ done: report });
}

interface RunningContender {
  stop(): Promise<ContenderReport>;
}

async function startContender(path: string, contention: Contention): Promise<RunningContender> {
  const control = new SharedArrayBuffer(8);
  const input: ContenderInput = { path, holdMs: contention.holdMs, gapMs: contention.gapMs, control };
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: input });
  let report: ContenderReport | undefined;
  let failure: Error | undefined;
  const exited = new Promise<void>((done) => worker.once('exit', () => done()));
  worker.on('error', (error) => (failure = error));
  await new Promise<void>((ready, fail) => {
    worker.on('message', (message: { ready?: true; done?: ContenderReport }) => {
      if (message.ready) ready();
      if (message.done) report = message.done;
    });
    worker.once('error', fail);
    worker.once('exit', () => fail(new Error('the contending connection exited before it was ready')));
  });
  return {
    stop: async () => {
      Atomics.store(new Int32Array(control), 0, 1);
      Atomics.notify(new Int32Array(control), 1);
      await exited;
      if (failure !== undefined) throw failure;
      if (report === undefined) throw new Error('the contending connection sent no report');
      return report;
    },
  };
}

// ---- the loopback LWA: the sandbox token endpoint, timing when each code exchange's answer was sent -------------

interface TimedLwa {
  url: string;
  /** performance.now() of each successful authorization_code answer's 'finish', in order. */
  exchangeAnswered: number[];
  close(): Promise<void>;
}

async function startTimedLwa(sandbox: SandboxLwa): Promise<TimedLwa> {
  const exchangeAnswered: number[] = [];
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const reply = sandbox.handleTokenRequest(form);
      if (form.get('grant_type') === 'authorization_code' && reply.status === 200) {
        // From here Amazon has issued the refresh token: the window opens once the answer has left this server.
        res.once('finish', () => exchangeAnswered.push(performance.now()));
      }
      res.writeHead(reply.status, { 'Content-Type': 'application/json;charset=UTF-8' });
      res.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('loopback LWA has no port');
  return {
    url: `http://127.0.0.1:${address.port}/auth/o2/token`,
    exchangeAnswered,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

// ---- timing the store and the exchange from inside the running App ----------------------------------------------

interface StoreProbe {
  /** performance.now() when each completeAuthorization resolved 'stored'. */
  committed: number[];
  /** performance.now() when each successful exchangeCode returned to the flow. */
  exchangeReturned: number[];
  /** completeAuthorization calls, and those that threw (a retry follows a transient one). */
  calls: number;
  thrown: number;
  thrownCodes: Map<string, number>;
}

function probe(services: Services): StoreProbe {
  const seen: StoreProbe = { committed: [], exchangeReturned: [], calls: 0, thrown: 0, thrownCodes: new Map() };
  const store = services.store;
  const complete = store.completeAuthorization.bind(store);
  store.completeAuthorization = async (input) => {
    seen.calls++;
    try {
      const result = await complete(input);
      if (result === 'stored') seen.committed.push(performance.now());
      return result;
    } catch (error) {
      seen.thrown++;
      const code = error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : 'other';
      seen.thrownCodes.set(code, (seen.thrownCodes.get(code) ?? 0) + 1);
      throw error;
    }
  };
  const lwa = services.lwa;
  const exchange = lwa.exchangeCode.bind(lwa);
  lwa.exchangeCode = async (input) => {
    const result = await exchange(input);
    if (result.ok) seen.exchangeReturned.push(performance.now());
    return result;
  };
  return seen;
}

// ---- driving authorizations -------------------------------------------------------------------------------------

interface Sample {
  /** LWA answer sent → commit returned (ms). */
  windowMs: number;
  /** LWA answer sent → exchangeCode returned to the flow (ms): reading and checking the answer. */
  readMs: number;
  /** exchangeCode returned → commit returned (ms): encryption and the write, with its retries. */
  writeMs: number;
  /** completeAuthorization calls this authorization needed (1 = no retry). */
  calls: number;
}

interface Env {
  origin: string;
  launchLinkSecret: string;
  lwa: TimedLwa;
  seen: StoreProbe;
}

/** One website authorization as a browser makes it; undefined when it ended before the code exchange (retried). */
async function authorizeOnce(env: Env): Promise<{ ok: true } | { ok: false; why: string }> {
  const client = new CookieClient();
  const expires = Math.floor(Date.now() / 1000) + 600;
  const start = await client.get(buildLaunchLink(env.origin, { customerId: CUSTOMER_ID, marketplace: 'US', expires }, env.launchLinkSecret));
  if (start.status !== 302 || start.location === undefined) return { ok: false, why: `AuthorizeStart answered ${start.status}` };
  const consent = await client.get(start.location);
  const consentId = /name="consent" value="([^"]+)"/.exec(consent.body)?.[1];
  if (consent.status !== 200 || consentId === undefined) return { ok: false, why: `consent page answered ${consent.status}` };
  const decided = await client.postForm(`${env.origin}/sandbox/sellercentral/apps/authorize/decide`, {
    consent: consentId,
    decision: 'confirm',
    selling_partner_id: 'A1SANDBOXSELLER1',
  });
  if (decided.status !== 302 || decided.location === undefined) return { ok: false, why: `consent decision answered ${decided.status}` };
  const callback = await client.get(decided.location);
  if (callback.status !== 200) return { ok: false, why: `LWACallback answered ${callback.status}` };
  return { ok: true };
}

interface Run {
  samples: Sample[];
  /** Authorizations that ended before their code exchange (a store write refused) and were started again. */
  restarted: number;
  restartReasons: Map<string, number>;
  /** Code exchanges that succeeded at LWA but whose token was not stored: tokens lost without any crash. */
  lost: number;
  contender: ContenderReport | undefined;
}

async function measure(env: Env, count: number, contention: Contention | undefined, dbPath: string): Promise<Run> {
  const contender = contention === undefined ? undefined : await startContender(dbPath, contention);
  const run: Run = { samples: [], restarted: 0, restartReasons: new Map(), lost: 0, contender: undefined };
  try {
    while (run.samples.length < count) {
      const before = { answered: env.lwa.exchangeAnswered.length, returned: env.seen.exchangeReturned.length, committed: env.seen.committed.length, calls: env.seen.calls };
      const result = await authorizeOnce(env);
      const answered = env.lwa.exchangeAnswered.slice(before.answered);
      const returned = env.seen.exchangeReturned.slice(before.returned);
      const committed = env.seen.committed.slice(before.committed);
      if (!result.ok) {
        if (answered.length > 0) run.lost++;
        run.restarted++;
        run.restartReasons.set(result.why, (run.restartReasons.get(result.why) ?? 0) + 1);
        if (run.restarted > 3 * count) throw new Error(`too many authorizations failed (${result.why})`);
        continue;
      }
      const [a, r, c] = [answered[0], returned[0], committed[0]];
      if (answered.length !== 1 || returned.length !== 1 || committed.length !== 1 || a === undefined || r === undefined || c === undefined) {
        throw new Error(`an authorization saw ${answered.length} LWA answers, ${returned.length} exchanges, ${committed.length} commits (expected 1 each)`);
      }
      run.samples.push({ windowMs: c - a, readMs: r - a, writeMs: c - r, calls: env.seen.calls - before.calls });
    }
  } finally {
    if (contender !== undefined) run.contender = await contender.stop();
  }
  return run;
}

// ---- figures ----------------------------------------------------------------------------------------------------

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

interface Summary {
  p50: number;
  p99: number;
  max: number;
}

function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((x, y) => x - y);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const triple = (s: Summary) => `${fmtMs(s.p50)} / ${fmtMs(s.p99)} / ${fmtMs(s.max)}`;

function retriesText(run: Run): string {
  const retried = run.samples.filter((s) => s.calls > 1);
  if (retried.length === 0) return '0';
  const most = Math.max(...retried.map((s) => s.calls));
  return `${retried.length} (up to ${most - 1} retries)`;
}

function contenderText(run: Run): string {
  const c = run.contender;
  if (c === undefined) return '—';
  const perSecond = c.transactions / (c.elapsedMs / 1000);
  return `${Math.round(perSecond).toLocaleString('en-US')} tx/s, lock held ${((100 * c.heldMs) / c.elapsedMs).toFixed(0)}% of the time`;
}

function table(runs: ReadonlyArray<{ name: string; run: Run }>): string[] {
  return [
    '| Store load | N | window p50 / p99 / max (ms) | of which: reading LWA\'s answer | of which: encrypt + write (+ retries) | writes retried | restarted before the exchange | tokens lost | second connection |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...runs.map(({ name, run }) => {
      const s = run.samples;
      return `| ${name} | ${s.length} | **${triple(summarize(s.map((x) => x.windowMs)))}** | ${triple(summarize(s.map((x) => x.readMs)))} | ${triple(summarize(s.map((x) => x.writeMs)))} | ${retriesText(run)} | ${run.restarted} | ${run.lost} | ${contenderText(run)} |`;
    }),
  ];
}

function machine(): string[] {
  const cpus = os.cpus();
  return [
    `CPU: ${cpus[0]?.model.trim() ?? 'unknown'}, ${cpus.length} cores (available parallelism ${os.availableParallelism()})`,
    `Memory: ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    `Node: ${process.version}`,
    `OS: ${os.type()} ${os.release()} (${os.platform()}/${os.arch()})`,
  ];
}

function section(runs: ReadonlyArray<{ name: string; run: Run }>, context: { date: string; tmpdir: string; notes: string[] }): string {
  const idle = runs[0]?.run.samples ?? [];
  const idleWindow = summarize(idle.map((s) => s.windowMs));
  return [
    SECTION_START,
    '# Commit window of a refresh token',
    '',
    'When LWA answers a code exchange it has issued a refresh token; until the transaction that stores it commits, the',
    'token lives only in this process. A process killed in that window (a deployment, a scale-in, a crash) loses a token',
    'Amazon issued: the seller sees no result page and must authorize again (the attempt reads `interrupted`). Nothing',
    'but the token\'s encryption and `store.completeAuthorization` (retried on transient errors for up to',
    '`STORE_RETRY_MS`) is awaited in between. This section measures that window on SQLite.',
    '',
    `Run on ${context.date} with \`${COMMAND}\` (\`bench/commitWindow.ts\`), ${MEASURED} measured authorizations per row after ${WARMUP} unmeasured ones.`,
    '',
    ...table(runs),
    '',
    `In words: with no other writer, p50 ${fmtMs(idleWindow.p50)} ms and p99 ${fmtMs(idleWindow.p99)} ms pass between LWA sending a refresh token and its commit.`,
    '',
    '## How it was measured',
    '',
    '- The whole service as `npm start` wires it, with non-sandbox settings (the local host with `App`, a temp SQLite',
    `  file in ${context.tmpdir}, WAL mode as the store opens it, an LWA client pointed at a loopback LWA) and the sandbox Seller Central pages.`,
    '  Each authorization is what a browser does: launch link → consent page → Confirm → the callback, one at a time, for',
    '  one customer and seller (a re-authorization each time: the same row is written).',
    '- The loopback LWA is the sandbox token endpoint (`SandboxLwa`) behind `node:http` on 127.0.0.1. The window starts',
    '  when its response to the `authorization_code` request emits `finish` (the last byte handed to the kernel), and',
    '  ends when the `completeAuthorization` method of the App\'s store object (wrapped) resolves `stored`: the',
    '  transaction has committed. Both ends are `performance.now()` in the same process. The split column "reading',
    '  LWA\'s answer" ends when the App\'s `lwa.exchangeCode` (wrapped) returns; the rest is encryption and the write.',
    '- Contended rows: a worker thread opens a second better-sqlite3 connection to the same file (busy_timeout 5 s) and',
    '  runs `BEGIN IMMEDIATE; upsert one row; COMMIT` in a loop for the whole row, pausing between transactions as the',
    '  row says; the slow and stuck writers keep the lock for the time given (spinning inside the transaction, as a wide',
    '  transaction or a slow disk would). The store waits for the lock up to its',
    '  busy_timeout (200 ms, synchronously), then the flow retries the write with backoff (25 ms, 50 ms, …).',
    '  "writes retried" counts authorizations whose `completeAuthorization` threw a transient error and was called again.',
    '- "restarted before the exchange": an authorization whose earlier writes (the attempt, the callback record) were',
    '  refused by the locked store ended before LWA was called, lost nothing, and was started again (not measured).',
    '- Every outgoing connection went through a guard that refuses anything but 127.0.0.1, localhost and ::1.',
    '',
    '## What it means',
    '',
    '- A process killed inside this window loses a refresh token Amazon issued; outside it, either no code was exchanged',
    '  (the seller can retry the same consent) or the token is committed. Graceful shutdowns that let in-flight requests',
    '  finish close the window; a hard kill does not.',
    '- On SQL Server the write is a network round trip and a log flush, so the window there is those plus the same',
    '  in-process steps; this run does not measure it.',
    '- Under a second writer the window grows by the time the store waits for the lock, and past the 200 ms busy_timeout',
    '  by the flow\'s retries (bounded by `STORE_RETRY_MS`, default 30 s): that tail is the window\'s worst case.',
    '',
    '## Machine',
    '',
    ...machine().map((line) => `- ${line}`),
    ...(context.notes.length > 0 ? ['', '## Notes from this run', '', ...context.notes.map((line) => `- ${line}`)] : []),
    SECTION_END,
    '',
  ].join('\n');
}


// ---- main -------------------------------------------------------------------------------------------------------

function collectingLogger(): { logger: Logger; problems: string[] } {
  const problems: string[] = [];
  const keep = (level: string) => (message: string, fields?: LogFields) => {
    if (level !== 'info') problems.push(`${level}: ${message}${fields === undefined ? '' : ` ${JSON.stringify(fields)}`}`);
  };
  return { logger: { info: keep('info'), warn: keep('warn'), error: keep('error') }, problems };
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = net.createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

async function main(): Promise<void> {
  installLoopbackGuard();
  selfTestLoopbackGuard();
  const cleanups: Array<() => Promise<void> | void> = [];
  const { logger, problems } = collectingLogger();
  try {
    const clientSecret = `amzn1.oa2-cs.v1.${randomBytes(24).toString('hex')}`;
    const sandbox = new SandboxLwa({ clientId: CLIENT_ID, clientSecret, clock: systemClock });
    const lwa = await startTimedLwa(sandbox);
    cleanups.push(() => lwa.close());

    const dir = mkdtempSync(join(os.tmpdir(), 'spapi-bench-window-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const dbPath = join(dir, 'store.sqlite');
    const port = await freePort();
    const origin = `http://localhost:${port}`;
    const launchLinkSecret = randomBytes(32).toString('base64url');
    const values: SettingValues = {
      SPAPI_APPLICATION_ID: APPLICATION_ID,
      SPAPI_REDIRECT_URI: `${origin}/api/lwa-callback`,
      LWA_CLIENT_ID: CLIENT_ID,
      LWA_CLIENT_SECRET: clientSecret,
      LWA_TOKEN_URL: lwa.url,
      SELLER_CENTRAL_URL: `${origin}/sandbox/sellercentral`,
      LAUNCH_LINK_SECRET: launchLinkSecret,
      TOKEN_ENCRYPTION_KEYS: `bench1:${randomBytes(32).toString('base64')}`,
      LOCAL_DB_PATH: dbPath,
    };
    const app = new App({ values, environment: { inAzure: false }, logger });
    cleanups.push(() => app.close());
    const state = await app.state();
    if (!state.ok) throw new Error(`app not configured: ${state.problems.join('; ')}`);
    const seen = probe(state.services);
    const pages = sandboxAmazonPages({
      lwa: sandbox,
      applicationId: APPLICATION_ID,
      redirectUris: [`${origin}/api/lwa-callback`],
      loginUri: `${origin}/api/login`,
      draftApp: false,
      listAuthorizations: async () => state.services.store.listCredentials(),
    });
    const host = await startLocalHost({ app, logger, port, pages });
    cleanups.push(() => host.close());
    const env: Env = { origin, launchLinkSecret, lwa, seen };

    process.stdout.write(`Commit window: ${WARMUP} warm-up authorizations, then ${SCENARIOS.length} × ${MEASURED} measured …\n`);
    await measure(env, WARMUP, undefined, dbPath);
    const runs: Array<{ name: string; run: Run }> = [];
    for (const scenario of SCENARIOS) {
      process.stdout.write(`  ${scenario.name} …\n`);
      runs.push({ name: scenario.name, run: await measure(env, MEASURED, scenario.contention, dbPath) });
    }
    if (refusedConnections.length > 0) throw new Error(`the loopback guard refused connections to: ${refusedConnections.join(', ')}`);

    const notes: string[] = [];
    if (seen.thrown > 0) notes.push(`completeAuthorization threw ${seen.thrown} time(s): ${[...seen.thrownCodes].map(([code, n]) => `${code} ×${n}`).join(', ')}.`);
    for (const { name, run } of runs) {
      if (run.restartReasons.size > 0) notes.push(`${name}: restarted ${[...run.restartReasons].map(([why, n]) => `${n}× (${why})`).join(', ')}.`);
      if (run.contender !== undefined && run.contender.busyErrors > 0) notes.push(`${name}: the second connection itself hit SQLITE_BUSY ${run.contender.busyErrors} time(s).`);
    }
    // Messages with the store's error codes ([SQLITE_…]) they carried; never field values (no secrets are logged, but
    // the doc needs only the shape).
    const logged = new Map<string, number>();
    for (const problem of problems) {
      const codes = [...new Set([...problem.matchAll(/\[(SQLITE_[A-Z_]+)\]/g)].map((m) => m[1]))].join(', ');
      const key = `${problem.replace(/\{.*$/, '').trim()}${codes === '' ? '' : ` [${codes}]`}`;
      logged.set(key, (logged.get(key) ?? 0) + 1);
    }
    if (logged.size > 0) notes.push(`Logged warnings/errors: ${[...logged].slice(0, 6).map(([line, n]) => `${n}× ${line}`).join('; ')}.`);
    notes.push(`Loopback guard: ${refusedConnections.length} connection(s) refused.`);

    const out = ['', ...table(runs), '', ...machine(), '', ...notes, ''];
    process.stdout.write(out.join('\n'));

    const date = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
    const docsFile = join(root, 'docs', 'benchmarks.md');
    const existing = existsSync(docsFile) ? readFileSync(docsFile, 'utf8') : '';
    writeFileSync(docsFile, withSection(existing, section(runs, { date, tmpdir: os.tmpdir(), notes }), SECTION_MARKERS));
    process.stdout.write(`Written to ${docsFile} (section "Commit window of a refresh token")\n`);
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

if (isMainThread) {
  main().then(
    () => {
      setTimeout(() => {
        process.stderr.write('bench: handles still open after cleanup; exiting\n');
        process.exit(process.exitCode ?? 0);
      }, 5_000).unref();
    },
    (error: unknown) => {
      process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
      setTimeout(() => process.exit(1), 5_000).unref();
    },
  );
} else {
  void runContender(workerData as ContenderInput);
}
