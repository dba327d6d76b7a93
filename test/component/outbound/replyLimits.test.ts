import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { systemClock } from '../../../src/credentials/index.js';
import { LwaClient } from '../../../src/lwa/lwaClient.js';
import { consoleLogger } from '../../../src/logging/logging.js';
import { MAX_REPLY_BYTES, REPLY_TOO_LARGE } from '../../../src/outbound/replyLimit.js';
import { SellersClient } from '../../../src/spapi/sellersClient.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { ignoredIncidents } from '../../support/incidents.js';

/**
 * Issue 16.7 e: every answer from outside is bounded in size. A loopback server answers 200 with a body far larger than
 * any real answer, either chunked (no Content-Length) or announcing 1.5 GiB, and counts what it managed to send; each
 * client (LWA through the seller's callback and a refresh, SP-API through the sweep, the webhook through delivery) must
 * cut the answer off at MAX_REPLY_BYTES, with the right failure and one log line without the body.
 */
const FLOOD_CAP = 64 * 1024 * 1024; // the server gives up after this much, so a client that buffers fails fast
const ANNOUNCED = String(1.5 * 1024 ** 3);
/** What the server may have pushed into socket buffers before the client's close reached it. */
const SENT_BOUND = 16 * 1024 * 1024;

interface Flood {
  url: string;
  /** Bytes written per answer, and whether the client closed the socket before the server had written FLOOD_CAP. */
  answers: Array<{ sent: number; closedEarly: boolean | undefined }>;
  close(): Promise<void>;
}

async function startFlood(mode: 'chunked' | 'content-length'): Promise<Flood> {
  const answers: Flood['answers'] = [];
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = { sent: 0, closedEarly: undefined as boolean | undefined };
      answers.push(answer);
      res.writeHead(200, { 'Content-Type': 'application/json', ...(mode === 'content-length' ? { 'Content-Length': ANNOUNCED } : {}) });
      res.on('close', () => {
        answer.closedEarly = answer.sent < FLOOD_CAP;
      });
      const pump = (): void => {
        while (answer.sent < FLOOD_CAP) {
          if (res.destroyed) return;
          answer.sent += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (mode === 'chunked') res.end();
        else res.destroy();
      };
      pump();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Started for this case, closed when it ends. */
async function forThisCase<T extends { close(): Promise<void> }>(started: Promise<T>): Promise<T> {
  const running = await started;
  onTestFinished(() => running.close());
  return running;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

function cutOff(f: Flood): void {
  expect(f.answers.length).toBeGreaterThan(0);
  for (const answer of f.answers) {
    expect(answer.closedEarly).toBe(true);
    expect(answer.sent).toBeLessThan(SENT_BOUND);
  }
}

const logged = (harness: Harness, text: string): string[] => harness.logs.filter((line) => line.includes(text));

for (const mode of ['chunked', 'content-length'] as const) {
  describe(`an answer too large to be real (${mode === 'chunked' ? 'chunked, no Content-Length' : 'Content-Length 1.5 GiB'})`, () => {
    it('LWA, the code exchange: the seller gets lwa_unavailable, the socket is closed after the limit, one warning without the body', async () => {
      const flood = await forThisCase(startFlood(mode));
      const h = await forThisCase(startHarness({ LWA_TOKEN_URL: `${flood.url}/auth/o2/token` }));
      const browser = new CookieClient();
      const res = await browser.get(await h.approve(browser, '42'));
      expect(res.status).toBe(503);
      expect(res.body).toContain('did not answer in time, or not with a usable answer');
      const { store } = await h.services();
      expect((await store.listAttempts({ customerId: '42' })).map((a) => [a.outcome, a.reason])).toEqual([['failed', 'lwa_unavailable']]);
      expect(flood.answers).toHaveLength(1); // a code exchange that reached LWA is never sent again
      await until(() => flood.answers.every((a) => a.closedEarly !== undefined) ?? false);
      cutOff(flood);
      const lines = logged(h, 'LWA token answer refused');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(REPLY_TOO_LARGE);
      expect(h.logs.join('\n')).not.toContain('AAAAAAAA');
    });

    it('LWA, a refresh: unavailable after one request (not retried), the socket closed after the limit', async () => {
      const flood = await forThisCase(startFlood(mode));
      const lines: string[] = [];
      const lwa = new LwaClient({ tokenUrl: flood.url, clientId: 'client', clientSecret: 'secret', timeoutMs: 10_000, clock: systemClock, logger: consoleLogger((l) => lines.push(l)), incidents: ignoredIncidents });
      const result = await lwa.refreshAccessToken({ refreshToken: `Atzr|${randomBytes(40).toString('base64url')}`, deadline: new Date(Date.now() + 30_000) });
      expect(result).toEqual({ ok: false, failure: { kind: 'unavailable', status: undefined, error: undefined, description: REPLY_TOO_LARGE, attempts: 1 } });
      await until(() => flood.answers.every((a) => a.closedEarly !== undefined) ?? false);
      cutOff(flood);
      expect(lines.filter((l) => l.includes('LWA token answer refused'))).toHaveLength(1);
    });

    it('SP-API marketplaceParticipations, from the sweep: the check is an error naming the size, the socket closed after the limit', async () => {
      const flood = await forThisCase(startFlood(mode));
      const h = await forThisCase(startHarness({ SPAPI_ENDPOINT_NA: flood.url }));
      const browser = new CookieClient();
      expect((await browser.get(await h.approve(browser, '42'))).status).toBe(200);
      const summary = await (await h.services()).sweep.run();
      expect(summary.sellers.map((s) => s.outcome)).toEqual(['error']);
      await until(() => flood.answers.every((a) => a.closedEarly !== undefined) ?? false);
      cutOff(flood);
      expect(logged(h, 'SP-API marketplaceParticipations answer refused')).toHaveLength(1);
      // And the client on its own: the result names the size.
      const sellers = new SellersClient({ endpoints: { NA: flood.url, EU: flood.url, FE: flood.url } });
      expect(await sellers.marketplaceParticipations('NA', 'Atza|token')).toEqual({ kind: 'unavailable', detail: REPLY_TOO_LARGE });
    });

    it('the webhook: a failed try (retried later) whose error names the size, the socket closed after the limit', async () => {
      const flood = await forThisCase(startFlood(mode));
      const h = await forThisCase(startHarness({ EVENTS_WEBHOOK_URL: `${flood.url}/hooks`, EVENTS_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}` }));
      const browser = new CookieClient();
      expect((await browser.get(await h.approve(browser, '42'))).status).toBe(200);
      const { events, store } = await h.services();
      await until(() => (flood.answers.length ?? 0) > 0);
      await events.settle();
      expect((await store.listEvents()).map((e) => [e.deliveryState, e.deliveryAttempts, e.lastDeliveryError])).toEqual([['pending', 1, REPLY_TOO_LARGE]]);
      await until(() => flood.answers.every((a) => a.closedEarly !== undefined) ?? false);
      cutOff(flood);
      expect(logged(h, 'event delivery refused; will retry').filter((l) => l.includes(REPLY_TOO_LARGE))).toHaveLength(1);
    });
  });
}

it('the limit is a few hundred KiB', () => {
  expect(MAX_REPLY_BYTES).toBe(256 * 1024);
});
