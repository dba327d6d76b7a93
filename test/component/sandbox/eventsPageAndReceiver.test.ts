import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { webhookMessageId, webhookPayload } from '../../../src/webhooks/webhookSender.js';
import type { LocalPage } from '../../../src/http/localHost.js';
import { SANDBOX_EVENTS_PATH, SANDBOX_WEBHOOK_PATH, sandboxEventsPages, sandboxWebhookSecret } from '../../../src/sandbox/sandboxEvents.js';
import { sandboxEnvironment } from '../../../src/sandbox/sandboxSettings.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';

/** The sandbox's local webhook receiver and events page (the local host only). */
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function request(body: string, headers: Record<string, string>) {
  return { method: 'POST', url: `http://localhost${SANDBOX_WEBHOOK_PATH}`, params: {}, headers: { get: (n: string) => headers[n] ?? null }, text: async () => body };
}

function page(pages: LocalPage[], method: string, path: string): LocalPage {
  const found = pages.find((p) => p.method === method && p.path === path);
  if (found === undefined) throw new Error(`no ${method} ${path}`);
  return found;
}

describe('sandbox events page and local receiver', () => {
  it('the receiver accepts what the service signs, refuses a tampered body, and the page lists both beside the outbox rows', async () => {
    h = await startHarness();
    const browser = new CookieClient();
    expect((await browser.get(await h.approve(browser, '42'))).status).toBe(200);
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const pages = sandboxEventsPages(h.app, secret);
    const [event] = await (await h.services()).store.listEvents();
    if (event === undefined) throw new Error('no event');
    const body = JSON.stringify(webhookPayload(event));
    const id = webhookMessageId(event.eventId);
    const now = new Date();
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign(id, now, body) };

    expect((await page(pages, 'POST', SANDBOX_WEBHOOK_PATH).handler(request(body, headers))).status).toBe(204);
    expect((await page(pages, 'POST', SANDBOX_WEBHOOK_PATH).handler(request(body.replace('"42"', '"43"'), headers))).status).toBe(401);
    const html = (await page(pages, 'GET', SANDBOX_EVENTS_PATH).handler(request('', {}))).body ?? '';
    expect(html).toContain('<td>authorization.granted</td><td>42</td>');
    expect(html).toMatch(/<td>evt_\d+<\/td><td>\?<\/td><td>REFUSED<\/td>/);
    expect(html).toMatch(/<td>evt_\d+<\/td><td>authorization.granted<\/td><td>verified<\/td>/);
  });

  it('the page lists the newest events first even when the outbox holds more than a thousand', async () => {
    h = await startHarness();
    const browser = new CookieClient();
    expect((await browser.get(await h.approve(browser, '42'))).status).toBe(200);
    const { store } = await h.services();
    // Each import of the (already authorized) row writes one authorization.reauthorized: 1001 events in all.
    const row = { customerId: '42', scope: 'NA', marketplace: 'US', sellingPartnerId: 'A1SANDBOXSELLER1' } as const;
    for (let i = 0; i < 1000; i++) {
      const fingerprint = `test1:not-used-${i}`; // one refresh token, one credential: each import brings another
      await store.importRefreshToken({ ...row, encryptedRefreshToken: `not-used-${i}`, refreshTokenFingerprint: fingerprint, fingerprints: [fingerprint], now: h.clock.now() });
    }
    const pages = sandboxEventsPages(h.app, `whsec_${randomBytes(32).toString('base64')}`);
    const html = (await page(pages, 'GET', SANDBOX_EVENTS_PATH).handler(request('', {}))).body ?? '';
    const ids = [...html.matchAll(/<tr><td>(\d+)<\/td><td>authorization\./g)].map((m) => Number(m[1]));
    expect(ids[0]).toBe(1001);
    expect(ids).toHaveLength(50);
  });

  it('sandbox mode points delivery at the local receiver with a secret it derives from the sandbox token key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-events-'));
    try {
      const env = sandboxEnvironment({}, 'http://localhost:7071', join(dir, 'secrets.json'));
      expect(env.values['EVENTS_WEBHOOK_URL']).toBe('http://localhost:7071/sandbox/webhooks');
      expect(env.values['EVENTS_WEBHOOK_SECRET']).toBe(env.webhookSecret);
      expect(env.webhookSecret).toBe(sandboxWebhookSecret(String(env.values['TOKEN_ENCRYPTION_KEYS']).slice('sandbox1:'.length)));
      expect(sandboxEnvironment({ EVENTS_WEBHOOK_URL: 'https://oxwebapp.example/hooks' }, 'http://localhost:7071', join(dir, 'secrets.json')).values['EVENTS_WEBHOOK_URL']).toBe('https://oxwebapp.example/hooks');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
