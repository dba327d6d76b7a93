import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLaunchLink, verifyLaunchLink } from '../../../src/authorization/launchLink.js';
import type { EventRecord } from '../../../src/credentials/index.js';
import { webhookMessageId, webhookPayload } from '../../../src/webhooks/webhookSender.js';
import { LAUNCH_LINK_APPSTORE_VECTOR, LAUNCH_LINK_VECTOR } from '../../support/launchLinkVector.js';
import { WEBHOOK_VECTOR } from '../docs/webhookSignatureVector.js';

/**
 * examples/dotnet/*.cs, the drop-in C# files oxWebApp's developers add to their project, compiled once with Mono's
 * `mcs` at C# 7 (warnings as errors, XML docs checked) together with DotnetExamplesDriver.cs, and run with `mono`:
 * they must sign the launch links the service signs, verify the webhooks it sends, byte for byte, and read its
 * access-token answers. Without `mcs`, `mono` or the Mono libraries the client needs, a developer's run skips with
 * one line; CI installs them (.ci/run), so there a missing one fails.
 */
const EXAMPLES = fileURLToPath(new URL('../../../examples/dotnet/', import.meta.url));
const DRIVER = fileURLToPath(new URL('./DotnetExamplesDriver.cs', import.meta.url));
/** Beyond mcs's defaults (mscorlib, System, System.Core, System.Xml): what the access-token client uses. */
const REFERENCES = ['-r:System.Net.Http', '-r:System.Runtime.Serialization'];
const INSTALL = 'apt-get install -y mono-mcs mono-runtime libmono-system-net-http4.0-cil libmono-system-runtime-serialization4.0-cil';

const onPath = (command: string): boolean => spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;

/** The run's one compile, at load (so a missing library can skip the file): the driver and every examples/dotnet/*.cs. */
function compile(): { dir: string; exe: string; sources: string[]; status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dotnet-examples-'));
  const exe = join(dir, 'driver.exe');
  const sources = readdirSync(EXAMPLES)
    .filter((name) => name.endsWith('.cs'))
    .map((name) => join(EXAMPLES, name));
  const args = ['-langversion:7', '-warn:4', '-warnaserror', ...REFERENCES, `-doc:${join(dir, 'examples.xml')}`, `-out:${exe}`, ...sources, DRIVER];
  const run = spawnSync('mcs', args, { encoding: 'utf8' });
  return { dir, exe, sources, status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

const build = onPath('mcs') && onPath('mono') ? compile() : undefined;
const missing =
  build === undefined
    ? 'mcs or mono not on PATH'
    : /error CS0006/.test(build.output)
      ? `a Mono library is missing (${[...build.output.matchAll(/Metadata file `([^']+)'/g)].map((m) => m[1]).join(', ')})`
      : undefined;
const inCi = process.env['CI'] === 'true';
if (missing !== undefined && !inCi) console.log(`C# examples skipped: ${missing} (${INSTALL}).`);
if (missing !== undefined && build !== undefined) rmSync(build.dir, { recursive: true, force: true });

const BASE = 'http://localhost:7071';
const V = LAUNCH_LINK_VECTOR;
const A = LAUNCH_LINK_APPSTORE_VECTOR;
const W = WEBHOOK_VECTOR;
const SIGNED_AT = Number(W.timestamp);

/** Runs the compiled driver once over the commands (one a line, arguments as base64 of UTF-16LE); one answer each. */
function drive(...commands: Array<[string, ...string[]]>): Promise<string[]> {
  const input = commands.map(([name, ...args]) => [name, ...args.map((a) => Buffer.from(a, 'utf16le').toString('base64'))].join('\t') + '\n').join('');
  return new Promise((resolve, reject) => {
    const child = spawn('mono', [build?.exe ?? 'driver.exe'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = out.split('\n').slice(0, -1);
      if (code !== 0 || lines.length !== commands.length) reject(new Error(`driver exited ${code} with ${lines.length} answers: ${err}`));
      else resolve(lines);
    });
    child.stdin.end(input);
  });
}

const link = (customerId: string, marketplace: string, expires: number, ...amazon: string[]): [string, ...string[]] => [
  'link',
  BASE,
  V.secret,
  customerId,
  marketplace,
  String(expires),
  ...amazon,
];
const webhook = (now: number, id: string, timestamp: string, signature: string, body: string, ...secrets: string[]): [string, ...string[]] => [
  'webhook',
  String(now),
  id,
  timestamp,
  signature,
  body,
  ...secrets,
];

if (missing !== undefined && inCi) {
  describe('C# examples (CI)', () => {
    it('has mcs, mono and the Mono libraries', () => {
      throw new Error(`C# examples cannot run in CI: ${missing} (${INSTALL}).`);
    });
  });
}

describe.skipIf(missing !== undefined)('examples/dotnet (mcs -langversion:7, mono)', () => {
  beforeAll(() => {
    expect(build?.sources.length).toBeGreaterThanOrEqual(3);
    expect(build?.output).toBe('');
    expect(build?.status).toBe(0);
  });
  afterAll(() => {
    if (build !== undefined) rmSync(build.dir, { recursive: true, force: true });
  });

  it('AmazonLaunchLink signs both launch-link vectors', async () => {
    const amazon = [A.amazonCallbackUri, A.amazonState, A.sellingPartnerId];
    const [plain, slash, appstore] = await drive(link(V.customerId, V.marketplace, V.expires), ['link', `${BASE}/`, ...link(V.customerId, V.marketplace, V.expires).slice(2)], link(A.customerId, A.marketplace, A.expires, ...amazon));
    expect(plain).toBe(V.url);
    expect(slash).toBe(V.url);
    expect(new URL(appstore ?? '').searchParams.get('sig')).toBe(A.sig);
  });

  it('AmazonLaunchLink writes what the service writes, and the service accepts it, for awkward values', async () => {
    const ids = ['a b', "O'Brien (UK)!", 'x&y=z', 'Müller~ß', '日本-店_1.*', '100%+', '😀 emoji', 'lone \ud800 surrogate', 'tab\tand\nnewline', '~!@#$^()[]{}|\\:;"<>,?/`'];
    const expires = V.expires;
    const appstore = { amazonCallbackUri: `${A.amazonCallbackUri}?x=1&y=a b`, amazonState: 'st+ate/=', sellingPartnerId: A.sellingPartnerId, version: 'beta' };
    const answers = await drive(
      ...ids.map((id) => link(id, 'DE', expires)),
      link('42', 'US', expires, appstore.amazonCallbackUri, appstore.amazonState, appstore.sellingPartnerId, appstore.version),
    );
    ids.forEach((id, i) => expect(answers[i]).toBe(buildLaunchLink(BASE, { customerId: id, marketplace: 'DE', expires }, V.secret)));
    expect(answers[ids.length]).toBe(buildLaunchLink(BASE, { customerId: '42', marketplace: 'US', expires, appstore }, V.secret));
    for (const url of answers) {
      // Valid or not as a customer id, every link's signature checks out: the service judges the id only after that.
      const verified = verifyLaunchLink(new URL(url).searchParams, V.secret, expires - 60);
      expect(verified.ok || verified.problem).not.toBe('signature_invalid');
    }
    const last = verifyLaunchLink(new URL(answers[ids.length] ?? '').searchParams, V.secret, expires - 60);
    expect(last.ok && last.link.appstore).toEqual(appstore);
  });

  it('AmazonLaunchLink.Create without an expiry gives the link 10 minutes', async () => {
    const before = Math.floor(Date.now() / 1000);
    const [url] = await drive(['link-now', BASE, V.secret, '42', 'DE']);
    const after = Math.floor(Date.now() / 1000);
    const expires = Number(new URL(url ?? '').searchParams.get('expires'));
    expect(expires).toBeGreaterThanOrEqual(before + 600);
    expect(expires).toBeLessThanOrEqual(after + 600);
    expect(verifyLaunchLink(new URL(url ?? '').searchParams, V.secret, after).ok).toBe(true);
  });

  it('ShipicaWebhookVerifier accepts the webhook vector and refuses a tampered body, a wrong secret, an old or future timestamp', async () => {
    const wrongSecret = `whsec_${randomBytes(24).toString('base64')}`;
    const answers = await drive(
      webhook(SIGNED_AT + 10, W.id, W.timestamp, W.signature, W.body, W.secret),
      webhook(SIGNED_AT + 300, W.id, W.timestamp, W.signature, W.body, W.secret),
      webhook(SIGNED_AT - 300, W.id, W.timestamp, W.signature, W.body, W.secret),
      webhook(SIGNED_AT + 10, W.id, W.timestamp, W.signature, W.body.replace('"42"', '"43"'), W.secret),
      webhook(SIGNED_AT + 10, W.id, W.timestamp, W.signature, `${W.body} `, W.secret),
      webhook(SIGNED_AT + 10, 'evt_8', W.timestamp, W.signature, W.body, W.secret),
      webhook(SIGNED_AT + 10, W.id, W.timestamp, W.signature, W.body, wrongSecret),
      webhook(SIGNED_AT + 301, W.id, W.timestamp, W.signature, W.body, W.secret),
      webhook(SIGNED_AT - 301, W.id, W.timestamp, W.signature, W.body, W.secret),
    );
    expect(answers).toEqual(['true', 'true', 'true', 'false', 'false', 'false', 'false', 'false', 'false']);
  });

  it('ShipicaWebhookVerifier takes a list of secrets (any one passes) and a header of several signatures', async () => {
    const wrongSecret = `whsec_${randomBytes(32).toString('base64')}`;
    const zeros = `v1,${Buffer.alloc(32).toString('base64')}`;
    const base64 = W.signature.slice('v1,'.length);
    const answers = await drive(
      webhook(SIGNED_AT, W.id, W.timestamp, W.signature, W.body, wrongSecret, W.secret),
      webhook(SIGNED_AT, W.id, W.timestamp, W.signature, W.body, W.secret, wrongSecret),
      webhook(SIGNED_AT, W.id, W.timestamp, W.signature, W.body, '', W.secret.slice('whsec_'.length)),
      webhook(SIGNED_AT, W.id, W.timestamp, `${zeros} ${W.signature}`, W.body, W.secret),
      webhook(SIGNED_AT, W.id, W.timestamp, `${W.signature} ${zeros}`, W.body, W.secret),
      webhook(SIGNED_AT, W.id, W.timestamp, zeros, W.body, W.secret),
      webhook(SIGNED_AT, W.id, W.timestamp, `v1a,${base64}`, W.body, W.secret),
      webhook(SIGNED_AT, W.id, W.timestamp, base64, W.body, W.secret),
      webhook(SIGNED_AT, W.id, W.timestamp, `v1,${base64.slice(0, -2)}`, W.body, W.secret),
      webhook(SIGNED_AT, W.id, ` ${W.timestamp}`, W.signature, W.body, W.secret),
      webhook(SIGNED_AT, W.id, `+${W.timestamp}`, W.signature, W.body, W.secret),
      webhook(SIGNED_AT, '', W.timestamp, W.signature, W.body, W.secret),
      webhook(SIGNED_AT, W.id, W.timestamp, '', W.body, W.secret),
      webhook(SIGNED_AT, W.id, W.timestamp, W.signature, W.body),
      webhook(SIGNED_AT, W.id, W.timestamp, W.signature, W.body, 'whsec_not base64!'),
    );
    expect(answers).toEqual([
      ...['true', 'true', 'true', 'true', 'true'],
      ...['false', 'false', 'false', 'false', 'false', 'false', 'false', 'false'],
      ...['exception\tArgumentException', 'exception\tArgumentException'],
    ]);
  });

  it("ShipicaWebhookVerifier accepts what the service's webhook sender signs, for fresh secrets and non-ASCII bodies", async () => {
    const cases = Array.from({ length: 12 }, (_, i) => {
      const secret = `whsec_${randomBytes(24 + i * 3).toString('base64')}`;
      const event: EventRecord = {
        eventId: 100 + i,
        type: 'authorization.granted',
        customerId: ['42', 'Müller & Söhne', '日本の店', 'emoji 😀', 'quote " and \\ backslash'][i % 5] ?? '42',
        scope: 'EU',
        region: 'EU',
        sellingPartnerId: i % 4 === 0 ? null : 'A3EXAMPLE',
        occurredAt: new Date(1767225600_000 + i * 1000),
        data: JSON.stringify({ marketplace: 'DE', note: randomBytes(6).toString('hex') }),
        deliveryState: 'pending',
        deliveryAttempts: 0,
        nextAttemptAt: null,
        deliveredAt: null,
        lastDeliveryError: null,
      };
      // What WebhookSender.send puts on the wire: this body, this id, this timestamp and its signature.
      const sentAt = new Date(1767238200_000 + i * 7_777);
      const body = JSON.stringify(webhookPayload(event));
      const id = webhookMessageId(event.eventId);
      const timestamp = String(Math.floor(sentAt.getTime() / 1000));
      return webhook(Number(timestamp) + 5, id, timestamp, new Webhook(secret).sign(id, sentAt, body), body, secret);
    });
    expect(await drive(...cases)).toEqual(cases.map(() => 'true'));
  });

  it('ShipicaAccessTokenClient asks the documented routes and reads the answers and the refusals', async () => {
    const seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }> = [];
    const tokenJson = (customerId: string, scope: string, region: string) =>
      JSON.stringify({ access_token: `Atza|token-for-${customerId}`, token_type: 'bearer', expires_at: '2026-11-23T01:02:03.000Z', customer_id: customerId, selling_partner_id: 'A3EXAMPLE', scope, region });
    // A stand-in for the service, answering as src/http/routes.ts does (JSON bodies, Retry-After on 503s).
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        const path = (req.url ?? '').split('?')[0] ?? '';
        const json = (status: number, text: string, headers: Record<string, string> = {}) => {
          res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
          res.end(text);
        };
        if (path === '/api/customers/revoked/access-token') json(409, JSON.stringify({ error: 'authorization_revoked', message: 'LWA refused the refresh token.' }));
        else if (path === '/api/customers/busy/access-token') json(503, JSON.stringify({ error: 'lwa_unavailable', message: 'LWA did not answer.' }), { 'Retry-After': '7' });
        else if (path === '/api/customers/nokey/access-token') json(401, '');
        else if (path === '/api/customers/garbled/access-token') json(200, '<html>not json</html>');
        else if (path === '/api/sellers/A3EXAMPLE/access-token') json(200, tokenJson('42', 'JP', 'FE'));
        else json(200, tokenJson(decodeURIComponent(path.split('/')[3] ?? ''), 'EU', 'EU'));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const answers = await drive(
        ['token', base, 'test-function-key', 'customer', '42', 'DE', 'false'],
        ['token', base, '', 'customer', 'Müller & Söhne/1', '', 'true'],
        ['token', base, 'test-function-key', 'seller', 'A3EXAMPLE', 'JP', 'false'],
        ['token', base, 'test-function-key', 'customer', 'revoked', '', 'false'],
        ['token', base, 'test-function-key', 'customer', 'busy', 'US', 'false'],
        ['token', base, 'wrong-key', 'customer', 'nokey', '', 'false'],
        ['token', base, 'test-function-key', 'customer', 'garbled', '', 'false'],
      );
      const expiresAt = String(Date.parse('2026-11-23T01:02:03.000Z'));
      expect(answers.map((line) => line.split('\t'))).toEqual([
        ['token', 'Atza|token-for-42', 'bearer', expiresAt, '42', 'A3EXAMPLE', 'EU', 'EU', 'access token for customer 42 (A3EXAMPLE, EU), expires 2026-11-23T01:02:03.0000000+00:00'],
        ['token', 'Atza|token-for-Müller & Söhne/1', 'bearer', expiresAt, 'Müller & Söhne/1', 'A3EXAMPLE', 'EU', 'EU', expect.not.stringContaining('Atza') as unknown],
        ['token', 'Atza|token-for-42', 'bearer', expiresAt, '42', 'A3EXAMPLE', 'JP', 'FE', 'access token for customer 42 (A3EXAMPLE, JP), expires 2026-11-23T01:02:03.0000000+00:00'],
        ['refused', '409', 'authorization_revoked', '-', 'Shipica access token: HTTP 409 authorization_revoked: LWA refused the refresh token.'],
        ['refused', '503', 'lwa_unavailable', '7', 'Shipica access token: HTTP 503 lwa_unavailable: LWA did not answer.'],
        ['refused', '401', '', '-', 'Shipica access token: HTTP 401: no JSON error in the answer'],
        ['refused', '200', '', '-', 'Shipica access token: HTTP 200: the answer holds no access_token or expires_at'],
      ]);
      expect(seen.map((r) => [r.method, r.url, r.headers['x-functions-key'], r.body])).toEqual([
        ['POST', '/api/customers/42/access-token?marketplace=DE', 'test-function-key', ''],
        ['POST', '/api/customers/M%C3%BCller%20%26%20S%C3%B6hne%2F1/access-token?refresh=true', undefined, ''],
        ['POST', '/api/sellers/A3EXAMPLE/access-token?marketplace=JP', 'test-function-key', ''],
        ['POST', '/api/customers/revoked/access-token', 'test-function-key', ''],
        ['POST', '/api/customers/busy/access-token?marketplace=US', 'test-function-key', ''],
        ['POST', '/api/customers/nokey/access-token', 'wrong-key', ''],
        ['POST', '/api/customers/garbled/access-token', 'test-function-key', ''],
      ]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
