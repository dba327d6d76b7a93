import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { systemClock } from '../../src/credentials/index.js';
import { parseKeyRing, TokenCipher } from '../../src/crypto/tokenCipher.js';
import { openSqliteStore } from '../../src/store/openStore.js';
import { startFakeLwa, type FakeLwa } from './fakeLwa.js';

/**
 * A fleet of real OS processes of the local host (`node <dist>/cli/start.js`, as `npm start` runs it) on one SQLite
 * file (WAL) and one loopback LWA: what the fleet test and `npm run bench` run. No vitest here (the bench imports it).
 */
export const FLEET_CLIENT_ID = 'amzn1.application-oa2-client.fleet000000000000000000000000';
export const FLEET_CUSTOMER = 'fleet-42';
export const FLEET_SELLER = 'A1FLEETSELLER1';

export interface FleetHost {
  pid: number;
  origin: string;
  child: ChildProcess;
  /** SIGKILL: the process dies at once, holding whatever lease it holds. */
  kill(): Promise<void>;
}

export interface Fleet {
  lwa: FakeLwa;
  dbPath: string;
  /** The settings every host runs with (for an App in this process over the same file). */
  values: Record<string, string | undefined>;
  hosts: FleetHost[];
  /** Refresh grants that reached the loopback LWA (hung ones included). */
  refreshGrants(): number;
  /** lease_owner of the seller's shared row, as the file holds it now. */
  leaseOwner(): string | null;
  close(): Promise<void>;
}

/**
 * Brings dist/ up to date with src as `npm start` does first (scripts/fresh-build.mjs: compiles only when dist/ is
 * older than the sources, so a dist/ just built by `npm run build` is used as it is); returns dist/cli/start.js.
 */
export function buildHostScript(root: string): string {
  const built = spawnSync(process.execPath, [resolve(root, 'scripts/fresh-build.mjs')], { cwd: root, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`build failed: ${built.stdout}${built.stderr}`);
  return resolve(root, 'dist/cli/start.js');
}

/**
 * Starts `size` hosts from `hostScript` over a fresh SQLite file holding one authorized seller (FLEET_CUSTOMER in
 * NA, a refresh token the loopback LWA accepts). `leaseSeconds` is ACCESS_TOKEN_LEASE_SECONDS; `tokenLifetimeSeconds`
 * shortens the access tokens the loopback LWA issues (their expires_in).
 */
export async function startFleet(options: { hostScript: string; size: number; leaseSeconds: number; tokenLifetimeSeconds?: number }): Promise<Fleet> {
  const dir = mkdtempSync(join(tmpdir(), 'spapi-fleet-'));
  const dbPath = join(dir, 'fleet.sqlite');
  const clientSecret = `amzn1.oa2-cs.v1.${randomBytes(24).toString('hex')}`;
  const tokenKey = randomBytes(32).toString('base64');
  const lwa = await startFakeLwa({
    clientId: FLEET_CLIENT_ID,
    clientSecret,
    clock: systemClock,
    ...(options.tokenLifetimeSeconds === undefined ? {} : { accessTokenLifetimeSeconds: options.tokenLifetimeSeconds }),
  });
  await seedSeller({ dbPath, lwa, clientSecret, tokenKeys: `fleet1:${tokenKey}` });

  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    PORT: '0',
    SPAPI_APPLICATION_ID: 'amzn1.sp.solution.11111111-2222-4333-8444-555555555555',
    SPAPI_REDIRECT_URI: 'http://localhost:7071/api/lwa-callback',
    LWA_CLIENT_ID: FLEET_CLIENT_ID,
    LWA_CLIENT_SECRET: clientSecret,
    LWA_TOKEN_URL: lwa.url,
    LWA_TIMEOUT_MS: '5000',
    LAUNCH_LINK_SECRET: randomBytes(32).toString('base64url'),
    TOKEN_ENCRYPTION_KEYS: `fleet1:${tokenKey}`,
    LOCAL_DB_PATH: dbPath,
    // The hosts run the timers as npm start does; a sweep at 03:30 UTC would add refreshes to the ones counted.
    'AzureWebJobs.CredentialSweep.Disabled': 'true',
    ACCESS_TOKEN_LEASE_SECONDS: String(options.leaseSeconds),
  };
  const hosts: FleetHost[] = [];
  try {
    // One after another: each opens (and may migrate) the file; the first creates the schema.
    for (let i = 0; i < options.size; i++) hosts.push(await startHost(options.hostScript, env, dir));
  } catch (error) {
    for (const host of hosts) await host.kill();
    await lwa.close();
    throw error;
  }
  return {
    lwa,
    dbPath,
    values: env,
    hosts,
    refreshGrants: () => lwa.received.filter((form) => form.get('grant_type') === 'refresh_token').length,
    leaseOwner: () => {
      const db = new Database(dbPath, { readonly: true });
      try {
        const row = db.prepare('SELECT lease_owner FROM sp_api_access_tokens WHERE customer_id = ? AND scope = ?').get(FLEET_CUSTOMER, 'NA') as
          | { lease_owner: string | null }
          | undefined;
        return row?.lease_owner ?? null;
      } finally {
        db.close();
      }
    },
    close: async () => {
      for (const host of hosts) await host.kill();
      await lwa.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The pid a lease owner id names (`p<pid>-…`, AccessTokenService's default owner). */
export function pidOfLeaseOwner(owner: string | null): number | undefined {
  const match = owner === null ? null : /^p(\d+)-/.exec(owner);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** POST …/access-token for the fleet's seller; the status and token (or error), or `failed` when the connection died. */
export async function requestToken(origin: string, query = 'region=NA'): Promise<{ status: number; token: string | undefined } | 'failed'> {
  try {
    const res = await fetch(`${origin}/api/customers/${FLEET_CUSTOMER}/access-token?${query}`, { method: 'POST' });
    const body = (await res.json()) as { access_token?: unknown };
    return { status: res.status, token: typeof body.access_token === 'string' ? body.access_token : undefined };
  } catch {
    return 'failed';
  }
}

async function seedSeller(input: { dbPath: string; lwa: FakeLwa; clientSecret: string; tokenKeys: string }): Promise<void> {
  const redirectUri = 'http://localhost:7071/api/lwa-callback';
  const code = input.lwa.sandbox.issueCode({ redirectUri, sellingPartnerId: FLEET_SELLER });
  const answer = input.lwa.sandbox.handleTokenRequest(
    new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: FLEET_CLIENT_ID, client_secret: input.clientSecret }),
  );
  const refreshToken = answer.body['refresh_token'];
  if (typeof refreshToken !== 'string') throw new Error('the loopback LWA issued no refresh token');
  const ring = parseKeyRing(input.tokenKeys);
  if (!ring.ok) throw new Error(ring.problem);
  const cipher = new TokenCipher(ring.keys);
  const envelope = cipher.encrypt(refreshToken, { column: 'lwa_refresh_token', customerId: FLEET_CUSTOMER, region: 'NA' });
  await (await openSqliteStore(input.dbPath)).close(); // creates the schema
  const db = new Database(input.dbPath);
  try {
    const now = new Date().toISOString();
    db.prepare(
      `INSERT INTO sp_api_credentials (customer_id, scope, region, marketplace, selling_partner_id, lwa_refresh_token,
         refresh_token_fingerprint, status, auth_requested_date, auth_granted_date, lwa_refresh_token_date, updated_at)
       VALUES (?, 'NA', 'NA', 'US', ?, ?, ?, 'authorized', ?, ?, ?, ?)`,
    ).run(FLEET_CUSTOMER, FLEET_SELLER, envelope, cipher.fingerprint(refreshToken), now, now, now, now);
  } finally {
    db.close();
  }
}

function startHost(hostScript: string, env: NodeJS.ProcessEnv, cwd: string): Promise<FleetHost> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [hostScript], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /Listening on http:\/\/localhost:(\d+)/.exec(output);
      if (match?.[1] === undefined) return;
      child.stdout?.off('data', onData);
      child.stdout?.resume(); // keep draining: a full pipe would block the host's logging
      child.stderr?.resume();
      resolvePromise({
        pid: child.pid ?? -1,
        origin: `http://127.0.0.1:${match[1]}`,
        child,
        kill: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
      });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('exit', (code) => reject(new Error(`host exited (${String(code)}) before listening: ${output.slice(0, 2000)}`)));
  });
}
