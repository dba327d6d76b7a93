import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { startCommand } from '../../../src/cli/start.js';
import { commandRunPerTest, startIn } from '../../support/commandRun.js';
import { CookieClient } from '../../support/cookieClient.js';
import { unusedPort } from '../../support/ports.js';

/**
 * A new user's first `npm start`, following README: in a directory holding README's sample settings, or none (the
 * sandbox), or configured settings; on a busy or malformed PORT. Each case runs in its own temp directory.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const run = commandRunPerTest();

describe('npm start with README\'s sample settings copied', () => {
  beforeEach(() => copyFileSync(join(ROOT, 'local.settings.sample.json'), join(run.dir, 'local.settings.json')));

  it('prints one line per placeholder, naming each setting, and serves nothing', async () => {
    expect(await startIn(run, {})).toBe(1);
    const placeholders = run.err.filter((line) => line.includes('placeholder'));
    expect(placeholders.map((line) => /^ {2}- (\w+) /.exec(line)?.[1])).toEqual([
      'SPAPI_APPLICATION_ID',
      'SPAPI_REDIRECT_URI',
      'LWA_CLIENT_ID',
      'LWA_CLIENT_SECRET',
      'LAUNCH_LINK_SECRET',
      'TOKEN_ENCRYPTION_KEYS',
    ]);
    expect(run.err).toHaveLength(placeholders.length + 1);
  });

  it('says which settings switched sandbox mode off, and never claims to serve the sandbox', async () => {
    await startIn(run, {});
    expect(run.err[0]).toBe('LWA_CLIENT_ID and LWA_TOKEN_URL are set in local.settings.json, so sandbox mode is off; fix the settings below, or remove LWA_CLIENT_ID and LWA_TOKEN_URL to use the sandbox.');
    expect([...run.out, ...run.err].join('\n')).not.toMatch(/SANDBOX MODE|sandbox seller|Listening/);
    expect(existsSync(join(run.dir, '.data'))).toBe(false);
  });
});

describe('npm start: mode and port', () => {
  it('in sandbox mode invites to authorize a sandbox seller', async () => {
    const port = await unusedPort();
    expect(await startIn(run, { PORT: String(port), LOCAL_DB_PATH: join(run.dir, 'store.sqlite') })).toBe(0);
    expect(run.out.at(-1)).toBe(`Listening on http://localhost:${port} — open http://localhost:${port}/ to authorize a sandbox seller. Ctrl+C stops.`);
  });

  it('with configured settings does not mention a sandbox seller, and says what switched the sandbox off', async () => {
    const port = await unusedPort();
    const code = await startIn(run, {
      PORT: String(port),
      LOCAL_DB_PATH: join(run.dir, 'store.sqlite'),
      SPAPI_APPLICATION_ID: 'amzn1.sp.solution.11111111-2222-4333-8444-555555555555',
      SPAPI_REDIRECT_URI: `http://localhost:${port}/api/lwa-callback`,
      LWA_CLIENT_ID: 'amzn1.application-oa2-client.abc',
      LWA_CLIENT_SECRET: 'amzn1.oa2-cs.v1.secret-value-1234567890',
      LAUNCH_LINK_SECRET: 'a-launch-link-secret-of-at-least-32-bytes',
      TOKEN_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
    });
    expect(code).toBe(0);
    expect(run.out[0]).toBe('LWA_CLIENT_ID is set in the environment, so sandbox mode is off. Using configured settings from the environment.');
    expect(run.out.join('\n')).not.toMatch(/sandbox seller|SANDBOX MODE/);
  });

  it('in sandbox mode a Revoke at Amazon is saved in .data/sandbox-secrets.json, for the next start', async () => {
    const port = await unusedPort();
    expect(await startIn(run, { PORT: String(port), LOCAL_DB_PATH: join(run.dir, 'store.sqlite') })).toBe(0);
    // A sandbox seller authorizes (start page → consent → Confirm), then its row's grant is revoked.
    const origin = `http://localhost:${port}`;
    const browser = new CookieClient();
    const consent = await browser.get((await browser.get((await browser.get(`${origin}/start/launch?customer_id=42&marketplace=US`)).location ?? '')).location ?? '');
    const consentId = /name="consent" value="([^"]+)"/.exec(consent.body)?.[1] ?? '';
    const decided = await browser.postForm(`${origin}/sandbox/sellercentral/apps/authorize/decide`, { consent: consentId, decision: 'confirm', selling_partner_id: 'A1SANDBOXSELLER1' });
    expect((await browser.get(decided.location ?? '')).body).toContain('Shipica is authorized');
    const revoked = await browser.postForm(`${origin}/start/revoke`, { customer_id: '42', scope: 'NA' });
    expect(revoked.status).toBe(302);
    const saved = JSON.parse(readFileSync(join(run.dir, '.data', 'sandbox-secrets.json'), 'utf8')) as { revokedGrants?: string[] };
    expect(saved.revokedGrants).toHaveLength(1);
  });

  it('a busy port is one line saying so and to set PORT', async () => {
    const port = await unusedPort();
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(port, '127.0.0.1', resolve));
    run.stops.push(() => new Promise<void>((resolve) => busy.close(() => resolve())));
    expect(await startIn(run, { PORT: String(port), LOCAL_DB_PATH: join(run.dir, 'store.sqlite') })).toBe(1);
    expect(run.err).toEqual([`port ${port} is in use: set PORT to a free port (e.g. PORT=${port + 1} npm start).`]);
  });

  it('on Windows a busy port is one line saying how to set PORT in PowerShell and in cmd', async () => {
    const port = await unusedPort();
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(port, '127.0.0.1', resolve));
    run.stops.push(() => new Promise<void>((resolve) => busy.close(() => resolve())));
    const started = await startCommand({ cwd: run.dir, env: { PORT: String(port), LOCAL_DB_PATH: join(run.dir, 'store.sqlite') }, print: (l) => run.out.push(l), printError: (l) => run.err.push(l), platform: 'win32' });
    expect(started.code).toBe(1);
    expect(run.err).toEqual([`port ${port} is in use: set PORT to a free port (e.g. $env:PORT=${port + 1}; npm start in PowerShell, set PORT=${port + 1}&& npm start in cmd).`]);
  });

  it('PORT=abc is one line naming PORT, and nothing about URLs', async () => {
    expect(await startIn(run, { PORT: 'abc' })).toBe(1);
    expect(run.err).toEqual(["PORT must be a whole number from 1 to 65535 (the local host's port; unset, it is 7071)."]);
  });
});
