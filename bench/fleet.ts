import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REFRESH_AHEAD_MS } from '../src/accessTokens/leaseDecision.js';
import type { CredentialStore } from '../src/credentials/index.js';
import { withSection } from './benchmarksDoc.js';
import { App, type Services } from '../src/app.js';
import { FLEET_CUSTOMER, requestToken, startFleet, type Fleet } from '../test/support/fleet.js';
import { installLoopbackGuard, refusedConnections, selfTestLoopbackGuard } from './loopbackGuard.js';

/**
 * `npm run bench` (third part): LWA refreshes per seller per token lifetime with N = 1, 2, 4 OS processes of the
 * local host sharing one SQLite file (the fleet's shared access-token table and its lease), and the store round trips
 * of each access-token step. Writes the "Fleet" section of docs/benchmarks.md (replacing an earlier one).
 *
 * Access tokens live TOKEN_LIFETIME_S here instead of an hour (the loopback LWA's expires_in), so a lifetime passes in
 * seconds: each run is a cold start (every process's cache empty, REQUESTS_PER_PROCESS concurrent requests to each),
 * then, once the token is inside the 5-minute refresh-ahead window, another such burst: the renewal of one lifetime.
 */
const SIZES = [1, 2, 4] as const;
const REQUESTS_PER_PROCESS = 250;
const LEASE_SECONDS = 10;
/** Just over the 5-minute refresh-ahead window: the token enters it a few seconds after it was issued. */
const TOKEN_LIFETIME_S = REFRESH_AHEAD_MS / 1000 + 3;
const SECTION_START = '<!-- fleet:start -->';
const SECTION_END = '<!-- fleet:end -->';
const SECTION_MARKERS = { start: SECTION_START, end: SECTION_END };

interface Run {
  processes: number;
  coldRefreshes: number;
  renewalRefreshes: number;
  answered: number;
  non200: number;
  distinctTokensPerBurst: number[];
}

async function burst(fleet: Fleet): Promise<{ non200: number; answered: number; tokens: number }> {
  const answers = await Promise.all(fleet.hosts.flatMap((host) => Array.from({ length: REQUESTS_PER_PROCESS }, () => requestToken(host.origin))));
  const ok = answers.filter((a) => a !== 'failed' && a.status === 200);
  return { answered: answers.length, non200: answers.length - ok.length, tokens: new Set(ok.map((a) => (a === 'failed' ? '' : a.token))).size };
}

async function runFleet(hostScript: string, processes: number): Promise<Run> {
  const fleet = await startFleet({ hostScript, size: processes, leaseSeconds: LEASE_SECONDS, tokenLifetimeSeconds: TOKEN_LIFETIME_S });
  try {
    const cold = await burst(fleet);
    const coldRefreshes = fleet.refreshGrants();
    // Wait until the token is inside the refresh-ahead window (issued TOKEN_LIFETIME_S ago minus 5 minutes).
    await new Promise((done) => setTimeout(done, (TOKEN_LIFETIME_S - REFRESH_AHEAD_MS / 1000) * 1000 + 500));
    const renewal = await burst(fleet);
    return {
      processes,
      coldRefreshes,
      renewalRefreshes: fleet.refreshGrants() - coldRefreshes,
      answered: cold.answered + renewal.answered,
      non200: cold.non200 + renewal.non200,
      distinctTokensPerBurst: [cold.tokens, renewal.tokens],
    };
  } finally {
    await fleet.close();
  }
}

/** Wraps every method of the store object to count calls (each one round trip on SQL Server). */
function counting(store: CredentialStore): { calls: Map<string, number>; reset(): void } {
  const calls = new Map<string, number>();
  const target = store as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(store) as object)) {
    const original = target[name];
    if (name === 'constructor' || typeof original !== 'function') continue;
    target[name] = (...args: unknown[]) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return (original as (...a: unknown[]) => unknown).apply(store, args);
    };
  }
  return { calls, reset: () => calls.clear() };
}

/**
 * Store calls of one instance (in this process, two Apps over one fleet file) for each step: a refresh (no valid token
 * anywhere), the shared token (the other App refreshed it), a cached one.
 */
async function roundTrips(values: Record<string, string | undefined>): Promise<Record<string, string>> {
  const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const open = async (): Promise<{ app: App; services: Services }> => {
    const app = new App({ values, environment: { inAzure: false }, logger });
    const state = await app.state();
    if (!state.ok) throw new Error(state.problems.join('; '));
    return { app, services: state.services };
  };
  const a = await open();
  const b = await open();
  try {
    const request = { customerId: FLEET_CUSTOMER, region: 'NA' as const };
    const describe = (calls: Map<string, number>) => {
      const total = [...calls.values()].reduce((x, y) => x + y, 0);
      return `${total} (${[...calls].map(([m, n]) => `${m} ${n}`).join(', ') || 'none'})`;
    };
    const countA = counting(a.services.store);
    if (!(await a.services.accessTokens.get(request)).ok) throw new Error('refresh failed');
    const refresh = describe(countA.calls);
    const countB = counting(b.services.store);
    if (!(await b.services.accessTokens.get(request)).ok) throw new Error('shared read failed');
    const shared = describe(countB.calls);
    countB.reset();
    if (!(await b.services.accessTokens.get(request)).ok) throw new Error('cached read failed');
    const cached = describe(countB.calls);
    return { refresh, shared, cached };
  } finally {
    await a.app.close();
    await b.app.close();
  }
}

function section(runs: Run[], trips: Record<string, string>, date: string): string {
  return [
    SECTION_START,
    '# Fleet: LWA refreshes per seller per token lifetime',
    '',
    `Run on ${date} with \`npm run bench\`. N OS processes of the local host (\`node dist-bench/src/cli/start.js\`, cold`,
    'in-process caches) share one SQLite file (WAL) and one loopback LWA. Each process gets',
    `${REQUESTS_PER_PROCESS} concurrent \`POST /api/customers/{id}/access-token?region=NA\` for one seller (cold start); then, once`,
    'the token is inside the 5-minute refresh-ahead window, the same burst again (the renewal of one lifetime). Access',
    `tokens live ${TOKEN_LIFETIME_S} s here (the loopback LWA's expires_in) so that a lifetime passes in seconds.`,
    `ACCESS_TOKEN_LEASE_SECONDS=${LEASE_SECONDS}.`,
    '',
    '| processes | LWA refreshes, cold start | LWA refreshes, renewal (per token lifetime) | requests answered 200 | distinct tokens per burst |',
    '|---:|---:|---:|---:|---|',
    ...runs.map((r) => `| ${r.processes} | ${r.coldRefreshes} | ${r.renewalRefreshes} | ${r.answered - r.non200} of ${r.answered} | ${r.distinctTokensPerBurst.join(', ')} |`),
    '',
    'Before the shared table every process refreshed for itself: N refreshes per seller per lifetime. Two distinct',
    'tokens in a renewal burst are expected: the current one, served while one process refreshes ahead under the lease,',
    'then the new one.',
    '',
    '## Store round trips per access-token step (one instance, counted on its store object)',
    '',
    `- A refresh (no valid token anywhere): ${trips['refresh']}`,
    `- Served from the shared table (another instance refreshed): ${trips['shared']}`,
    `- Served from this process's cache: ${trips['cached']}`,
    '',
    `Loopback guard: ${refusedConnections.length} connection(s) refused.`,
    SECTION_END,
    '',
  ].join('\n');
}


async function main(): Promise<void> {
  installLoopbackGuard();
  selfTestLoopbackGuard();
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const hostScript = join(root, 'dist-bench', 'src', 'cli', 'start.js');
  const runs: Run[] = [];
  for (const processes of SIZES) {
    const run = await runFleet(hostScript, processes);
    runs.push(run);
    process.stdout.write(`fleet of ${processes}: ${run.coldRefreshes} refresh(es) cold, ${run.renewalRefreshes} at renewal, ${run.non200} non-200 of ${run.answered}\n`);
  }
  const fleet = await startFleet({ hostScript, size: 0, leaseSeconds: LEASE_SECONDS });
  let trips: Record<string, string>;
  try {
    trips = await roundTrips(fleet.values);
  } finally {
    await fleet.close();
  }
  for (const [step, count] of Object.entries(trips)) process.stdout.write(`store round trips, ${step}: ${count}\n`);
  if (refusedConnections.length > 0) throw new Error(`the loopback guard refused: ${refusedConnections.join(', ')}`);
  const date = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const docsFile = join(root, 'docs', 'benchmarks.md');
  const existing = existsSync(docsFile) ? readFileSync(docsFile, 'utf8') : '';
  writeFileSync(docsFile, withSection(existing, section(runs, trips, date), SECTION_MARKERS));
  process.stdout.write(`Written to ${docsFile} (section "Fleet")\n`);
}

main().then(
  () => setTimeout(() => process.exit(process.exitCode ?? 0), 2_000).unref(),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 2_000).unref();
  },
);
