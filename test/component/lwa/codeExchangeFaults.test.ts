import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_REFRESH_TOKEN_LENGTH } from '../../../src/lwa/tokenResponse.js';
import type { SettingValues } from '../../../src/config/settingReader.js';
import { LIMITS } from '../../../src/credentials/index.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness, type HarnessOptions } from '../../support/harness.js';
import { unusedPort } from '../../support/ports.js';

/**
 * LWA faults around the code exchange, through the local host: a code Amazon may have spent is never sent twice,
 * a request that never reached LWA is, and LWA's Retry-After is waited out inside the code's life.
 */
let h: Harness | undefined;
const extraServers: Server[] = [];

afterEach(async () => {
  await h?.close();
  h = undefined;
  await Promise.all(extraServers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

async function start(overrides: SettingValues = {}, options: HarnessOptions = {}): Promise<Harness> {
  h = await startHarness(overrides, options);
  return h;
}

const codeRequests = (harness: Harness): number => harness.lwa.received.filter((f) => f.get('grant_type') === 'authorization_code').length;

/** Launch link → consent → Confirm, then the callback with LWA scripted by `script`. */
async function authorize(harness: Harness, script: () => void = () => undefined): Promise<{ status: number; body: string }> {
  const client = new CookieClient();
  const callback = await harness.approve(client, '42');
  script();
  return client.get(callback);
}

const row = async (harness: Harness) => (await harness.services()).store.findCredential('42', 'NA');

/**
 * A TCP relay to the loopback LWA. `dropFirst`: the first connection is read (the request arrives) and then
 * destroyed without an answer; later ones are relayed.
 */
function relayTo(lwaUrl: string, options: { dropFirst: boolean }): { server: Server; dropped: () => number } {
  const target = Number(new URL(lwaUrl).port);
  let connections = 0;
  let dropped = 0;
  const server = createServer((socket: Socket) => {
    connections++;
    if (options.dropFirst && connections === 1) {
      socket.once('data', () => {
        dropped++;
        socket.destroy();
      });
      return;
    }
    const upstream = connect(target, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    const end = (): void => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', end);
    upstream.on('error', end);
  });
  extraServers.push(server);
  return { server, dropped: () => dropped };
}

/** Calls `action` synchronously when the app logs a line matching `pattern` (the harness captures every line). */
function onLogLine(harness: Harness, pattern: RegExp, action: () => void): void {
  const logs = harness.logs;
  let done = false;
  logs.push = (...lines: string[]): number => {
    if (!done && lines.some((line) => pattern.test(line))) {
      done = true;
      action();
    }
    return Array.prototype.push.apply(logs, lines);
  };
}

const RETRYING = /"message":"LWA token request failed; retrying"/;

/** The pauses the client announced before each retry (its log line says how long it will wait). */
const announcedDelays = (harness: Harness): number[] =>
  harness.logs.filter((l) => RETRYING.test(l)).map((l) => Number((JSON.parse(l) as { delayMs: unknown }).delayMs));

describe('a slow code exchange', () => {
  it('with LWA_EXCHANGE_TIMEOUT_MS=1000, a success that comes after the timeout is not followed by a second exchange: lwa_unavailable', async () => {
    const harness = await start({ LWA_EXCHANGE_TIMEOUT_MS: '1000' });
    // LWA answers only once the callback has been answered: the client gave up on it first.
    let answered = (): void => undefined;
    const held = new Promise<void>((resolve) => (answered = resolve));
    const res = await authorize(harness, () => harness.lwa.fail({ heldUntil: held }));
    answered();
    expect(res.status).toBe(503);
    expect(res.body).toContain('<code>lwa_unavailable</code>');
    // LWA did issue a refresh token (the client had gone): the code was spent once, never rejected as reused.
    await expect.poll(() => harness.lwa.issuedTokens.some((t) => t.startsWith('Atzr|'))).toBe(true);
    expect(codeRequests(harness)).toBe(1);
    expect(await row(harness)).toMatchObject({ status: 'failed', lwaRefreshToken: null, lastError: 'lwa_unavailable' });
  });

  it('with the exchange timeout at its default, a 1.5 s success authorizes with one exchange', async () => {
    const harness = await start({ LWA_EXCHANGE_TIMEOUT_MS: undefined });
    const res = await authorize(harness, () => harness.lwa.fail({ delayMs: 1500 }));
    expect(res.status).toBe(200);
    expect(codeRequests(harness)).toBe(1);
    expect((await row(harness))?.status).toBe('authorized');
  });
});

describe('a code exchange that never reached LWA, or may have', () => {
  it('connection refused on the first try: retried once the endpoint listens, and authorized', async () => {
    const port = await unusedPort();
    const harness = await start({ LWA_TOKEN_URL: `http://127.0.0.1:${port}/auth/o2/token` });
    const relay = relayTo(harness.lwa.url, { dropFirst: false });
    // The retry is logged before its pause: the relay starts listening (synchronously) between the two attempts.
    onLogLine(harness, RETRYING, () => relay.server.listen(port, '127.0.0.1'));
    const res = await authorize(harness);
    expect(res.status).toBe(200);
    expect(codeRequests(harness)).toBe(1);
    expect(harness.logs.filter((l) => RETRYING.test(l))).toHaveLength(1);
    expect((await row(harness))?.status).toBe('authorized');
  });

  it('a server that reads the request and then drops the connection: not retried, lwa_unavailable', async () => {
    const port = await unusedPort();
    const harness = await start({ LWA_TOKEN_URL: `http://127.0.0.1:${port}/auth/o2/token` });
    // A second attempt would be relayed to LWA and succeed: only the rule keeps it from being sent.
    const relay = relayTo(harness.lwa.url, { dropFirst: true });
    await new Promise<void>((resolve) => relay.server.listen(port, '127.0.0.1', resolve));
    const res = await authorize(harness);
    expect(res.status).toBe(503);
    expect(res.body).toContain('<code>lwa_unavailable</code>');
    expect(relay.dropped()).toBe(1);
    expect(codeRequests(harness)).toBe(0);
    expect((await row(harness))?.status).toBe('failed');
  });
});

describe('LWA asks us to wait', () => {
  const tooMany = (retryAfter: string) => ({ status: 429, body: JSON.stringify({ error: 'TooManyRequests' }), headers: { 'Retry-After': retryAfter } });
  // The wait itself moves the test clock instead of a timer (LwaClient's own test waits one out on the real sleep).
  const waiting: HarnessOptions = { clockSleep: true };

  it('429 with Retry-After: 2, then 200: waited out and authorized with 2 LWA calls', async () => {
    const harness = await start({}, waiting);
    const res = await authorize(harness, () => harness.lwa.fail(tooMany('2')));
    expect(res.status).toBe(200);
    expect(codeRequests(harness)).toBe(2);
    expect(announcedDelays(harness)).toEqual([2000]);
    expect(harness.sleeps).toEqual([2000]);
    expect((await row(harness))?.status).toBe('authorized');
  });

  it('429 with Retry-After: 3, longer than a refresh would wait, then 200: still waited out for the code, authorized', async () => {
    const harness = await start({}, waiting);
    const res = await authorize(harness, () => harness.lwa.fail(tooMany('3')));
    expect(res.status).toBe(200);
    expect(codeRequests(harness)).toBe(2);
    expect(announcedDelays(harness)).toEqual([3000]);
    expect(harness.sleeps).toEqual([3000]);
  });

  it('429 with an HTTP-date Retry-After 2 s ahead, then 200: waited out and authorized with 2 LWA calls', async () => {
    const harness = await start({}, waiting);
    const res = await authorize(harness, () => harness.lwa.fail(tooMany(new Date(Date.now() + 2_000).toUTCString())));
    expect(res.status).toBe(200);
    expect(codeRequests(harness)).toBe(2);
    // The date has whole seconds and is read against the response's Date header (whole seconds too).
    const [delay] = announcedDelays(harness);
    expect(delay).toBeGreaterThanOrEqual(1000);
    expect(delay).toBeLessThanOrEqual(3000);
    expect(harness.sleeps).toEqual([delay]);
    expect((await row(harness))?.status).toBe('authorized');
  });

  it('503 text/html every time until past the code window: lwa_unavailable, and LWA is not called again', async () => {
    const harness = await start();
    const html = { status: 503, body: '<html><body>Service Unavailable</body></html>', headers: { 'Content-Type': 'text/html' } };
    // More 503s than the client could ever use; at the first retry the clock jumps past the 4-minute window.
    const res = await authorize(harness, () => {
      harness.lwa.fail(...Array.from({ length: 10 }, () => html));
      onLogLine(harness, RETRYING, () => harness.clock.advance(4 * 60_000));
    });
    expect(res.status).toBe(503);
    expect(res.body).toContain('<code>lwa_unavailable</code>');
    // The state is used up: trying again from this page can never work, so the page says to start again.
    expect(res.body).toContain('start again from Shipica');
    expect(res.body).not.toContain('Please try again in a few minutes.');
    expect(codeRequests(harness)).toBe(2);
    expect(await row(harness)).toMatchObject({ status: 'failed', lastError: 'lwa_unavailable' });
  });
});

describe('what a 200 may carry', () => {
  it('expires_in as the string "3600" is accepted: authorized, the refresh token stored', async () => {
    const harness = await start();
    const grant = { access_token: 'Atza|string-expiry', token_type: 'bearer', expires_in: '3600', refresh_token: 'Atzr|string-expiry' };
    const res = await authorize(harness, () => harness.lwa.fail({ status: 200, body: JSON.stringify(grant) }));
    expect(res.status).toBe(200);
    const { cipher } = await harness.services();
    const stored = await row(harness);
    expect(stored?.status).toBe('authorized');
    expect(cipher.decrypt(stored?.lwaRefreshToken ?? '', { column: 'lwa_refresh_token', customerId: '42', region: 'NA' })).toBe('Atzr|string-expiry');
  });

  // The longest key id: the envelope is as long as it can get.
  const longKid = (): SettingValues => ({ TOKEN_ENCRYPTION_KEYS: `${'K'.repeat(32)}:${randomBytes(32).toString('base64')}` });
  const refreshToken = (length: number): string => `Atzr|${'t'.repeat(length - 5)}`;
  const grantWith = (token: string) => ({
    status: 200,
    body: JSON.stringify({ access_token: 'Atza|long', token_type: 'bearer', expires_in: 3600, refresh_token: token }),
  });

  it('the longest refresh token the client accepts is stored, its envelope within the column', async () => {
    const harness = await start(longKid());
    const res = await authorize(harness, () => harness.lwa.fail(grantWith(refreshToken(MAX_REFRESH_TOKEN_LENGTH))));
    expect(res.status).toBe(200);
    const stored = await row(harness);
    expect(stored?.status).toBe('authorized');
    expect(stored?.lwaRefreshToken?.length).toBeLessThanOrEqual(LIMITS.encryptedRefreshToken);
    const { cipher } = await harness.services();
    expect(cipher.decrypt(stored?.lwaRefreshToken ?? '', { column: 'lwa_refresh_token', customerId: '42', region: 'NA' })).toBe(
      refreshToken(MAX_REFRESH_TOKEN_LENGTH),
    );
  });

  it('one character longer is refused as a malformed response: lwa_unavailable, nothing stored', async () => {
    const harness = await start(longKid());
    const res = await authorize(harness, () => harness.lwa.fail(grantWith(refreshToken(MAX_REFRESH_TOKEN_LENGTH + 1))));
    expect(res.status).toBe(503);
    expect(res.body).toContain('<code>lwa_unavailable</code>');
    expect(await row(harness)).toMatchObject({ status: 'failed', lwaRefreshToken: null });
    expect(codeRequests(harness)).toBe(1);
  });
});
