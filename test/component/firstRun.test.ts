import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dbMigrateCommand } from '../../src/cli/dbMigrate.js';
import { launchLinkCommand } from '../../src/cli/launchLink.js';
import { opsCommand, opsMain } from '../../src/cli/ops.js';
import { CookieClient } from '../support/cookieClient.js';
import { startHarness } from '../support/harness.js';
import { startCommand } from '../../src/cli/start.js';
import { tokensReencryptMain } from '../../src/cli/tokensReencrypt.js';

/**
 * A new user's first run, following README: `npm start` in a directory holding (or not) local.settings.json, and
 * every other command with the same broken file. Each case runs in its own temp directory.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let dir: string;
let out: string[];
let err: string[];
const stops: Array<() => Promise<void>> = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'first-run-'));
  out = [];
  err = [];
});
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  rmSync(dir, { recursive: true, force: true });
});

async function start(env: NodeJS.ProcessEnv): Promise<number> {
  const started = await startCommand({ cwd: dir, env, print: (l) => out.push(l), printError: (l) => err.push(l) });
  if (started.host !== undefined) stops.push(() => started.host?.close() ?? Promise.resolve(), () => started.app?.close() ?? Promise.resolve());
  return started.code;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('npm start with README\'s sample settings copied', () => {
  beforeEach(() => copyFileSync(join(ROOT, 'local.settings.sample.json'), join(dir, 'local.settings.json')));

  it('prints one line per placeholder, naming each setting, and serves nothing', async () => {
    expect(await start({})).toBe(1);
    const placeholders = err.filter((line) => line.includes('placeholder'));
    expect(placeholders.map((line) => /^ {2}- (\w+) /.exec(line)?.[1])).toEqual([
      'SPAPI_APPLICATION_ID',
      'SPAPI_REDIRECT_URI',
      'LWA_CLIENT_ID',
      'LWA_CLIENT_SECRET',
      'LAUNCH_LINK_SECRET',
      'TOKEN_ENCRYPTION_KEYS',
    ]);
    expect(err).toHaveLength(placeholders.length + 1);
  });

  it('says which settings switched sandbox mode off, and never claims to serve the sandbox', async () => {
    await start({});
    expect(err[0]).toBe('LWA_CLIENT_ID and LWA_TOKEN_URL are set in local.settings.json, so sandbox mode is off; fix the settings below, or remove LWA_CLIENT_ID and LWA_TOKEN_URL to use the sandbox.');
    expect([...out, ...err].join('\n')).not.toMatch(/SANDBOX MODE|sandbox seller|Listening/);
    expect(existsSync(join(dir, '.data'))).toBe(false);
  });
});

describe('npm start: mode and port', () => {
  it('in sandbox mode invites to authorize a sandbox seller', async () => {
    const port = await freePort();
    expect(await start({ PORT: String(port), LOCAL_DB_PATH: join(dir, 'store.sqlite') })).toBe(0);
    expect(out.at(-1)).toBe(`Listening on http://localhost:${port} — open http://localhost:${port}/ to authorize a sandbox seller. Ctrl+C stops.`);
  });

  it('with configured settings does not mention a sandbox seller, and says what switched the sandbox off', async () => {
    const port = await freePort();
    const code = await start({
      PORT: String(port),
      LOCAL_DB_PATH: join(dir, 'store.sqlite'),
      SPAPI_APPLICATION_ID: 'amzn1.sp.solution.11111111-2222-4333-8444-555555555555',
      SPAPI_REDIRECT_URI: `http://localhost:${port}/api/lwa-callback`,
      LWA_CLIENT_ID: 'amzn1.application-oa2-client.abc',
      LWA_CLIENT_SECRET: 'amzn1.oa2-cs.v1.secret-value-1234567890',
      LAUNCH_LINK_SECRET: 'a-launch-link-secret-of-at-least-32-bytes',
      TOKEN_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
    });
    expect(code).toBe(0);
    expect(out[0]).toBe('LWA_CLIENT_ID is set in the environment, so sandbox mode is off. Using configured settings from the environment.');
    expect(out.join('\n')).not.toMatch(/sandbox seller|SANDBOX MODE/);
  });

  it('in sandbox mode a Revoke at Amazon is saved in .data/sandbox-secrets.json, for the next start', async () => {
    const port = await freePort();
    expect(await start({ PORT: String(port), LOCAL_DB_PATH: join(dir, 'store.sqlite') })).toBe(0);
    // A sandbox seller authorizes (start page → consent → Confirm), then its row's grant is revoked.
    const origin = `http://localhost:${port}`;
    const browser = new CookieClient();
    const consent = await browser.get((await browser.get((await browser.get(`${origin}/start/launch?customer_id=42&marketplace=US`)).location ?? '')).location ?? '');
    const consentId = /name="consent" value="([^"]+)"/.exec(consent.body)?.[1] ?? '';
    const decided = await browser.postForm(`${origin}/sandbox/sellercentral/apps/authorize/decide`, { consent: consentId, decision: 'confirm', selling_partner_id: 'A1SANDBOXSELLER1' });
    expect((await browser.get(decided.location ?? '')).body).toContain('Shipica is authorized');
    const revoked = await browser.postForm(`${origin}/start/revoke`, { customer_id: '42', region: 'NA' });
    expect(revoked.status).toBe(302);
    const saved = JSON.parse(readFileSync(join(dir, '.data', 'sandbox-secrets.json'), 'utf8')) as { revokedGrants?: string[] };
    expect(saved.revokedGrants).toHaveLength(1);
  });

  it('a busy port is one line saying so and to set PORT', async () => {
    const port = await freePort();
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(port, '127.0.0.1', resolve));
    stops.push(() => new Promise<void>((resolve) => busy.close(() => resolve())));
    expect(await start({ PORT: String(port), LOCAL_DB_PATH: join(dir, 'store.sqlite') })).toBe(1);
    expect(err).toEqual([`port ${port} is in use: set PORT to a free port (e.g. PORT=${port + 1} npm start).`]);
  });

  it('on Windows a busy port is one line saying how to set PORT in PowerShell and in cmd', async () => {
    const port = await freePort();
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(port, '127.0.0.1', resolve));
    stops.push(() => new Promise<void>((resolve) => busy.close(() => resolve())));
    const started = await startCommand({ cwd: dir, env: { PORT: String(port), LOCAL_DB_PATH: join(dir, 'store.sqlite') }, print: (l) => out.push(l), printError: (l) => err.push(l), platform: 'win32' });
    expect(started.code).toBe(1);
    expect(err).toEqual([`port ${port} is in use: set PORT to a free port (e.g. $env:PORT=${port + 1}; npm start in PowerShell, set PORT=${port + 1}&& npm start in cmd).`]);
  });

  it('PORT=abc is one line naming PORT, and nothing about URLs', async () => {
    expect(await start({ PORT: 'abc' })).toBe(1);
    expect(err).toEqual(["PORT must be a whole number from 1 to 65535 (the local host's port; unset, it is 7071)."]);
  });
});

describe('a broken local.settings.json, in every command', () => {
  const SECRET = 'SECRET-SENTINEL-0123456789abcdef0123456789';
  const WHERE = "local.settings.json is not valid JSON (line 3, column 3: expected ',' or '}' after a property value)";
  beforeEach(() => writeFileSync(join(dir, 'local.settings.json'), `{"Values": {\n  "LAUNCH_LINK_SECRET": "${SECRET}"\n  "X": "y"}}`));
  const lines = () => [...out, ...err];

  it('npm start prints its line and column', async () => {
    expect(await start({})).toBe(1);
    expect(err).toEqual([`${WHERE}: fix it, or remove the file to use the sandbox.`]);
  });

  it('npm run ops prints its line and column', async () => {
    expect(await opsMain(['status'], dir, {}, (l) => out.push(l))).toBe(1);
    expect(lines()).toEqual([`ops: ${WHERE}: fix it, or remove the file to use the sandbox.`]);
  });

  it('npm run launch-link prints its line and column', () => {
    const result = launchLinkCommand(['--customer', '42'], {}, dir, Date.now());
    expect(result).toEqual({ code: 2, output: `${WHERE}: fix it, or remove the file to use the sandbox.` });
  });

  it('npm run tokens:reencrypt prints its line and column', async () => {
    expect(await tokensReencryptMain([], dir, {}, (l) => out.push(l))).toBe(1);
    expect(lines()).toEqual([`tokens:reencrypt: ${WHERE}: fix it, or remove the file to use the sandbox.`]);
  });

  it('npm run db:migrate prints its line and column', async () => {
    expect(await dbMigrateCommand([], dir, {}, { log: (l) => out.push(l), error: (l) => err.push(l) })).toBe(1);
    expect(lines()).toEqual([`db:migrate: ${WHERE}: fix it, or remove the file to use the sandbox.`]);
  });
});

describe('--help on every command', () => {
  it.each([
    ['start', async () => (await captured(async (p) => (await startCommand({ argv: ['--help'], cwd: dir, env: {}, print: p, printError: p })).code))],
    ['launch-link', () => launchLinkCommand(['--help'], {}, dir, Date.now()).output],
    ['ops', async () => (await captured((p) => opsMain(['--help'], dir, {}, p)))],
    ['ops status', async () => (await captured((p) => opsMain(['status', '--help'], dir, {}, p)))],
    ['ops attempts', async () => (await captured((p) => opsMain(['attempts', '--help'], dir, {}, p)))],
    ['ops unlink', async () => (await captured((p) => opsMain(['unlink', '--help'], dir, {}, p)))],
    ['ops purge', async () => (await captured((p) => opsMain(['purge', '--help'], dir, {}, p)))],
    ['tokens:reencrypt', async () => (await captured((p) => tokensReencryptMain(['--help'], dir, {}, p)))],
    ['db:migrate', async () => (await captured((p) => dbMigrateCommand(['--help'], dir, {}, { log: p, error: p })))],
  ])('%s --help prints its usage', async (name, run) => {
    const text = await run();
    expect(text.startsWith('usage: npm ')).toBe(true);
    const [command, sub] = name.split(' ');
    expect(text).toContain(command === 'start' ? 'npm start' : command === 'ops' ? `npm run ops -- ${sub ?? 'status'}` : `npm run ${name}`);
  });
});

async function captured(run: (print: (line: string) => void) => Promise<number>): Promise<string> {
  const lines: string[] = [];
  expect(await run((l) => lines.push(l))).toBe(0);
  return lines.join('\n');
}

describe('one field naming for ops and the HTTP API', () => {
  it('ops status --json prints exactly the objects /api/credentials returns', async () => {
    const h = await startHarness();
    stops.push(() => h.close());
    const browser = new CookieClient();
    await browser.get(await h.approve(browser, '42'));
    await browser.get(await h.approve(browser, '43', { sellingPartnerId: 'A2SANDBOXSELLER2' }));
    const lines: string[] = [];
    expect(await opsCommand(['status', '--json'], h.values, h.clock.now(), (l) => lines.push(l))).toBe(0);
    const api = JSON.parse((await browser.get(`${h.origin}/api/credentials`)).body) as { credentials: unknown[] };
    expect(JSON.parse(lines.join('\n'))).toEqual(api.credentials);
  });
});
