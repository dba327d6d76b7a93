import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { App, type Services } from '../../../src/app.js';
import { consoleLogger } from '../../../src/logging/logging.js';
import { EventDelivery } from '../../../src/events/webhookDelivery.js';
import { WebhookSender } from '../../../src/webhooks/webhookSender.js';
import { timers } from '../../../src/jobs/timers.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';

/**
 * What one delivery run counts (16.5) and how sellers share a run (16.7 d): a run's summary counts its own tries only,
 * and one receiver answer that hangs holds its own seller's queue, never the other sellers' events.
 */

interface Post {
  customerId: string;
  type: string;
  /** When the request arrived and when it was answered (ms, Date.now()); answeredAt undefined while it hangs. */
  at: number;
  answeredAt: number | undefined;
}

/**
 * oxWebApp's end on loopback, answering per customer: 204 at once, or held until `release()` (or the connection
 * drops: the sender's timeout). Signatures are not checked here (eventsWebhook.test.ts does).
 */
interface HoldingReceiver {
  url: string;
  secret: string;
  posts: Post[];
  hold(customerId: string): void;
  release(): void;
  arrived(count: number): Promise<void>;
  close(): Promise<void>;
}

async function startHoldingReceiver(): Promise<HoldingReceiver> {
  const held = new Set<string>();
  const waiting: Array<() => void> = [];
  const posts: Post[] = [];
  const sockets = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string; data: { customer_id: string } };
      const post: Post = { customerId: body.data.customer_id, type: body.type, at: Date.now(), answeredAt: undefined };
      posts.push(post);
      const answer = (): void => {
        post.answeredAt = Date.now();
        res.writeHead(204).end();
      };
      if (!held.has(post.customerId)) return answer();
      sockets.add(res);
      waiting.push(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    secret: `whsec_${randomBytes(32).toString('base64')}`,
    posts,
    hold: (customerId) => held.add(customerId),
    release: () => {
      held.clear();
      for (const answer of waiting.splice(0)) answer();
    },
    arrived: async (count) => {
      while (posts.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function authorize(harness: Harness, customer: string, sellingPartnerId: string): Promise<void> {
  const browser = new CookieClient();
  expect((await browser.get(await harness.approve(browser, customer, { sellingPartnerId }))).status).toBe(200);
}

/**
 * A receiver, a harness without a webhook, and three sellers' authorization.granted events pending in its outbox
 * (nothing sent yet): what most cases start from.
 */
async function threeSellersPending(): Promise<{ harness: Harness; hook: HoldingReceiver; store: Services['store'] }> {
  const hook = await startHoldingReceiver();
  onTestFinished(() => hook.close());
  const harness = await startHarness();
  onTestFinished(() => harness.close());
  await authorize(harness, '41', 'A1SANDBOXSELLER1');
  await authorize(harness, '42', 'A2SANDBOXSELLER2');
  await authorize(harness, '43', 'A3SANDBOXSELLER3');
  return { harness, hook, store: (await harness.services()).store };
}

describe('a delivery run counts what it did, and only that (16.5)', () => {
  it('two overlapping runs over the same 3 due events: 3 delivered between them, not 3 each', async () => {
    const { harness, hook, store } = await threeSellersPending();
    const delivery = new EventDelivery({ store, sender: new WebhookSender({ url: hook.url, secret: hook.secret }), clock: harness.clock, logger: consoleLogger(() => undefined) });
    for (const customer of ['41', '42', '43']) hook.hold(customer);

    const first = delivery.deliverDue();
    await hook.arrived(3); // the first run has claimed all three and is waiting for the answers
    const second = delivery.deliverDue();
    hook.release();
    const runs = await Promise.all([first, second]);
    expect(runs).toEqual([
      { delivered: 3, retrying: 0, failed: 0 },
      { delivered: 0, retrying: 0, failed: 0 },
    ]);
    expect(hook.posts).toHaveLength(3);
  });

  it('two overlapping EventDelivery timer runs: one "events delivered" line, with 3, not two lines of 3', async () => {
    const { harness, hook } = await threeSellersPending();
    // The harness's app has no webhook (the 3 stay pending); this app has one, over the same file, as a second process would.
    const lines: string[] = [];
    const app = new App({ values: { ...harness.values, EVENTS_WEBHOOK_URL: hook.url, EVENTS_WEBHOOK_SECRET: hook.secret }, environment: { inAzure: false }, logger: consoleLogger(() => undefined), clock: harness.clock });
    try {
      const state = await app.state();
      if (!state.ok) throw new Error(state.problems.join('; '));
      for (const customer of ['41', '42', '43']) hook.hold(customer);
      const job = timers.find((t) => t.name === 'EventDelivery');
      if (job === undefined) throw new Error('no EventDelivery timer');
      const log = consoleLogger((line) => lines.push(line));
      const firstRun = job.run(app, log);
      await hook.arrived(3);
      const secondRun = job.run(app, log);
      hook.release();
      await Promise.all([firstRun, secondRun]);
    } finally {
      await app.close();
    }
    const counted = lines.map((l) => JSON.parse(l) as { message: string; delivered?: number }).filter((l) => l.message === 'events delivered');
    expect(counted.map((l) => l.delivered)).toEqual([3]);
  });
});

describe('sellers do not wait for each other (16.7 d)', () => {
  it("one seller's hanging POST: another seller's next event is sent as soon as its first is answered, not after the hang", async () => {
    const { harness, hook, store } = await threeSellersPending();
    // 41 and 42 each have a second event behind the first; 42's first POST hangs until the sender's timeout.
    await store.unlinkCredential({ customerId: '41', scope: 'NA', now: harness.clock.now() });
    await store.unlinkCredential({ customerId: '42', scope: 'NA', now: harness.clock.now() });
    hook.hold('42');
    const timeoutMs = 3_000;
    const delivery = new EventDelivery({
      store,
      sender: new WebhookSender({ url: hook.url, secret: hook.secret }, { timeoutMs }),
      clock: harness.clock,
      logger: consoleLogger(() => undefined),
    });
    const started = Date.now();
    const run = delivery.deliverDue();
    // 41's second event arrives while 42's first still hangs (its answer would come at the timeout).
    await hook.arrived(4);
    const hanging = hook.posts.find((p) => p.customerId === '42');
    const second41 = hook.posts.find((p) => p.customerId === '41' && p.type === 'authorization.unlinked');
    expect(hanging?.answeredAt).toBeUndefined();
    expect((second41?.at ?? Infinity) - started).toBeLessThan(timeoutMs / 2);
    expect(await run).toEqual({ delivered: 3, retrying: 1, failed: 0 });
    // 42's unlinked event was never sent behind its hanging granted event: per-seller order is kept.
    expect(hook.posts.map((p) => `${p.customerId} ${p.type}`).sort()).toEqual([
      '41 authorization.granted',
      '41 authorization.unlinked',
      '42 authorization.granted',
      '43 authorization.granted',
    ]);
    expect((await store.listEvents({ customerId: '42' })).map((e) => [e.type, e.deliveryState, e.deliveryAttempts])).toEqual([
      ['authorization.granted', 'pending', 1],
      ['authorization.unlinked', 'pending', 0],
    ]);
    hook.release();
  });

  it("a change written while another seller's POST hangs goes out at once: the nudge wakes the running pass (the app's own wiring)", async () => {
    const hook = await startHoldingReceiver();
    onTestFinished(() => hook.close());
    const harness = await startHarness({ EVENTS_WEBHOOK_URL: hook.url, EVENTS_WEBHOOK_SECRET: hook.secret });
    onTestFinished(() => harness.close());
    hook.hold('41');
    await authorize(harness, '41', 'A1SANDBOXSELLER1');
    await hook.arrived(1); // 41's granted event: its POST hangs (the sender's 10 s)
    const started = Date.now();
    await authorize(harness, '42', 'A2SANDBOXSELLER2');
    await hook.arrived(2);
    const post42 = hook.posts.find((p) => p.customerId === '42');
    expect(post42?.answeredAt).toBeDefined();
    expect((post42?.at ?? Infinity) - started).toBeLessThan(2_000);
    expect(hook.posts.find((p) => p.customerId === '41')?.answeredAt).toBeUndefined();
    hook.release();
    await (await harness.services()).events.settle();
    expect((await (await harness.services()).store.listEvents()).map((e) => [e.customerId, e.deliveryState])).toEqual([
      ['41', 'delivered'],
      ['42', 'delivered'],
    ]);
  });

  it('keeps the per-run bound: a run stops claiming after maxPerRun tries, the next goes on', async () => {
    const { harness, hook, store } = await threeSellersPending();
    const delivery = new EventDelivery({ store, sender: new WebhookSender({ url: hook.url, secret: hook.secret }), clock: harness.clock, logger: consoleLogger(() => undefined), maxPerRun: 2, concurrency: 1 });
    expect(await delivery.deliverDue()).toEqual({ delivered: 2, retrying: 0, failed: 0 });
    expect(await delivery.deliverDue()).toEqual({ delivered: 1, retrying: 0, failed: 0 });
  });
});
