import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EventDelivery } from '../../../src/events/webhookDelivery.js';
import { WebhookSender } from '../../../src/webhooks/webhookSender.js';
import { consoleLogger } from '../../../src/logging/logging.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';

/** Receivers that misbehave at the HTTP level: a redirect, no answer at all, an answer dragged out byte by byte. */
let h: Harness | undefined;
const servers: Server[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method ?? ''} ${req.url ?? ''}`);
    req.resume();
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, hits };
}

/** One authorized seller (one granted event, pending: the harness has no webhook) and a delivery aimed at `url`. */
async function oneEvent(url: string, timeoutMs: number): Promise<{ delivery: EventDelivery; logs: string[] }> {
  h = await startHarness();
  const browser = new CookieClient();
  expect((await browser.get(await h.approve(browser, '42'))).status).toBe(200);
  const services = await h.services();
  const logs: string[] = [];
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const delivery = new EventDelivery({ store: services.store, sender: new WebhookSender({ url, secret }, { timeoutMs }), clock: h.clock, logger: consoleLogger((l) => logs.push(l)) });
  return { delivery, logs };
}

async function eventState(): Promise<Array<[string, number, string | null]>> {
  const services = await (h as Harness).services();
  return (await services.store.listEvents()).map((e) => [e.deliveryState, e.deliveryAttempts, e.lastDeliveryError]);
}

describe('event delivery against a misbehaving receiver', () => {
  it('a 302 from the receiver is a refused try: the redirect is not followed and the event waits for its retry', async () => {
    const elsewhere = await serve((_req, res) => res.writeHead(204).end());
    const receiver = await serve((_req, res) => res.writeHead(302, { Location: elsewhere.url }).end());
    const { delivery } = await oneEvent(receiver.url, 5_000);
    expect(await delivery.deliverDue()).toEqual({ delivered: 0, retrying: 1, failed: 0 });
    expect(elsewhere.hits).toEqual([]);
    expect(await eventState()).toEqual([['pending', 1, 'HTTP 302']]);
  });

  it('a receiver that never answers is a refused try once the timeout passes', async () => {
    const receiver = await serve(() => undefined);
    const { delivery } = await oneEvent(receiver.url, 300);
    expect(await delivery.deliverDue()).toEqual({ delivered: 0, retrying: 1, failed: 0 });
    expect(await eventState()).toEqual([['pending', 1, 'request failed (ECONNABORTED)']]);
  });

  it('a receiver that keeps sending a byte at a time past the timeout is a refused try, so one slow receiver cannot hold a delivery run', async () => {
    // Headers at once, then one body byte every 100 ms for 2 s: the socket is never idle for the 400 ms timeout.
    const receiver = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.flushHeaders();
      let left = 20;
      const tick = setInterval(() => {
        left -= 1;
        if (left > 0 && !res.destroyed) res.write('.');
        else {
          clearInterval(tick);
          if (!res.destroyed) res.end();
        }
      }, 100);
      res.on('close', () => clearInterval(tick));
    });
    const { delivery } = await oneEvent(receiver.url, 400);
    expect(await delivery.deliverDue()).toEqual({ delivered: 0, retrying: 1, failed: 0 });
    const [[state, attempts, error] = []] = await eventState();
    expect([state, attempts]).toEqual(['pending', 1]);
    expect(error).toMatch(/^request failed \(/);
  });
});
