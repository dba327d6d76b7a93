import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DELIVERY_BACKOFF_MS, MAX_DELIVERY_ATTEMPTS } from '../../../src/events/deliveryPolicy.js';
import { opsCommand } from '../../../src/cli/ops.js';
import { EventDelivery } from '../../../src/events/webhookDelivery.js';
import { WEBHOOK_USER_AGENT, WebhookSender } from '../../../src/webhooks/webhookSender.js';
import { consoleLogger, invocationAwareLogger, outsideInvocation, withInvocationLogger } from '../../../src/logging/logging.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/webhookReceiver.js';

/** The events outbox delivered as Standard Webhooks to a loopback receiver that verifies every signature. */
let h: Harness | undefined;
let receiver: WebhookReceiver | undefined;
afterEach(async () => {
  await h?.close();
  await receiver?.close();
  h = undefined;
  receiver = undefined;
});

const newSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

async function authorize(harness: Harness, customer: string, sellingPartnerId = 'A1SANDBOXSELLER1'): Promise<void> {
  const browser = new CookieClient();
  const res = await browser.get(await harness.approve(browser, customer, { sellingPartnerId }));
  expect(res.status).toBe(200);
}

const api = new CookieClient();
const payloadOf = (body: string) => JSON.parse(body) as { type: string; timestamp: string; data: Record<string, unknown> };

describe('events delivered as Standard Webhooks', () => {
  it('sends each change right after it, signed so that the standardwebhooks verifier accepts every request', async () => {
    receiver = await startWebhookReceiver(newSecret());
    h = await startHarness({ EVENTS_WEBHOOK_URL: receiver.url, EVENTS_WEBHOOK_SECRET: receiver.secret });
    await authorize(h, '42');
    h.lwa.sandbox.revokeSeller('A1SANDBOXSELLER1');
    h.clock.advance(3_600_000); // past the cached token: the next request refreshes, and LWA refuses
    expect((await api.request(`${h.origin}/api/customers/42/access-token`, { method: 'POST' })).status).toBe(409);

    const delivered = await receiver.deliveries(2);
    await (await h.services()).events.deliverDue(); // the run that sent them has recorded its outcomes
    expect(receiver.received.every((r) => r.verified !== null)).toBe(true);
    expect(delivered.map((r) => payloadOf(r.body).type)).toEqual(['authorization.granted', 'authorization.revoked']);
    expect(delivered.map((r) => r.userAgent)).toEqual([WEBHOOK_USER_AGENT, WEBHOOK_USER_AGENT]);
    const granted = payloadOf(delivered[0]?.body ?? '{}');
    expect(granted.data).toMatchObject({ customer_id: '42', scope: 'NA', region: 'NA', selling_partner_id: 'A1SANDBOXSELLER1', marketplace: 'US' });
    expect(delivered[0]?.id).toBe(`evt_${String(granted.data['event_id'])}`);
    const events = await (await h.services()).store.listEvents();
    expect(events.map((e) => e.deliveryState)).toEqual(['delivered', 'delivered']);
  });

  it('a receiver that answers 500 three times gets the event on the fourth try, and the seller\'s next event only after it', async () => {
    receiver = await startWebhookReceiver(newSecret());
    h = await startHarness(); // no webhook setting: the app itself sends nothing, the delivery below does
    await authorize(h, '42');
    const services = await h.services();
    await services.store.unlinkCredential({ customerId: '42', scope: 'NA', now: h.clock.now() });
    const logs: string[] = [];
    const delivery = new EventDelivery({ store: services.store, sender: new WebhookSender({ url: receiver.url, secret: receiver.secret }), clock: h.clock, logger: consoleLogger((l) => logs.push(l)) });
    receiver.answer(500, 500, 500);

    expect(await delivery.deliverDue()).toEqual({ delivered: 0, retrying: 1, failed: 0 });
    expect(await delivery.deliverDue()).toEqual({ delivered: 0, retrying: 0, failed: 0 }); // not due yet
    for (const wait of DELIVERY_BACKOFF_MS.slice(0, 2)) {
      h.clock.advance(wait);
      expect(await delivery.deliverDue()).toEqual({ delivered: 0, retrying: 1, failed: 0 });
    }
    h.clock.advance(DELIVERY_BACKOFF_MS[2] ?? 0);
    expect(await delivery.deliverDue()).toEqual({ delivered: 2, retrying: 0, failed: 0 });

    expect(receiver.received.map((r) => [payloadOf(r.body).type, r.answered])).toEqual([
      ['authorization.granted', 500],
      ['authorization.granted', 500],
      ['authorization.granted', 500],
      ['authorization.granted', 204],
      ['authorization.unlinked', 204],
    ]);
    expect(new Set(receiver.received.slice(0, 4).map((r) => r.id)).size).toBe(1); // one webhook-id across retries
    expect(receiver.received.every((r) => r.verified !== null)).toBe(true);
    expect((await services.store.listEvents()).map((e) => [e.deliveryState, e.deliveryAttempts])).toEqual([
      ['delivered', 4],
      ['delivered', 1],
    ]);
  });

  it(`gives an event up after ${MAX_DELIVERY_ATTEMPTS} refused tries over about a day, logs it as an error, and delivers the seller's next`, async () => {
    receiver = await startWebhookReceiver(newSecret());
    h = await startHarness();
    await authorize(h, '42');
    const services = await h.services();
    await services.store.unlinkCredential({ customerId: '42', scope: 'NA', now: h.clock.now() });
    const logs: string[] = [];
    const delivery = new EventDelivery({ store: services.store, sender: new WebhookSender({ url: receiver.url, secret: receiver.secret }), clock: h.clock, logger: consoleLogger((l) => logs.push(l)) });
    receiver.answer(...Array<number>(MAX_DELIVERY_ATTEMPTS).fill(503));

    await delivery.deliverDue();
    for (const wait of DELIVERY_BACKOFF_MS) {
      h.clock.advance(wait);
      await delivery.deliverDue();
    }
    const total = DELIVERY_BACKOFF_MS.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(22 * 3_600_000);
    expect(total).toBeLessThan(26 * 3_600_000);
    expect(receiver.received.map((r) => [payloadOf(r.body).type, r.answered])).toEqual([
      ...Array(MAX_DELIVERY_ATTEMPTS).fill(['authorization.granted', 503]),
      ['authorization.unlinked', 204],
    ]);
    expect((await services.store.listEvents()).map((e) => e.deliveryState)).toEqual(['failed', 'delivered']);
    expect(logs.filter((l) => l.includes('gave up after every retry'))).toHaveLength(1);
  });

  it('a delivery nudged during an invocation logs to the process log, not into that invocation', async () => {
    receiver = await startWebhookReceiver(newSecret());
    h = await startHarness();
    await authorize(h, '42');
    const services = await h.services();
    const outside: string[] = [];
    const inside: string[] = [];
    const delivery = new EventDelivery({
      store: services.store,
      sender: new WebhookSender({ url: receiver.url, secret: receiver.secret }),
      clock: h.clock,
      logger: invocationAwareLogger(consoleLogger((l) => outside.push(l))),
      detach: outsideInvocation,
    });
    receiver.answer(500);
    await withInvocationLogger(consoleLogger((l) => inside.push(l)), async () => delivery.nudge());
    await delivery.deliverDue(); // waits for the nudged run
    expect(outside.filter((l) => l.includes('will retry'))).toHaveLength(1);
    expect(inside).toEqual([]);
  });

  it('npm run ops -- unlink returns only once its event is delivered and recorded (the store is not closed under the delivery)', async () => {
    receiver = await startWebhookReceiver(newSecret());
    h = await startHarness({ EVENTS_WEBHOOK_URL: receiver.url, EVENTS_WEBHOOK_SECRET: receiver.secret });
    await authorize(h, '42');
    await receiver.deliveries(1);
    const services = await h.services();
    await services.events.deliverDue(); // the granted event is recorded delivered

    // The command opens its own App on the same SQLite file, as the separate `npm run ops` process does.
    const printed: string[] = [];
    const code = await opsCommand(['unlink', '--customer', '42', '--region', 'NA', '--yes'], h.values, h.clock.now(), (l) => printed.push(l));
    expect(code).toBe(0);
    expect(printed.filter((l) => l.includes('event delivery failed'))).toEqual([]);
    expect((await services.store.listEvents()).map((e) => [e.type, e.deliveryState, e.deliveryAttempts])).toEqual([
      ['authorization.granted', 'delivered', 1],
      ['authorization.unlinked', 'delivered', 1],
    ]);
  });

  it('without EVENTS_WEBHOOK_URL the events stay in the table, pending, and nothing is sent', async () => {
    h = await startHarness();
    await authorize(h, '42');
    const services = await h.services();
    expect(services.events.enabled).toBe(false);
    expect(await services.events.deliverDue()).toEqual({ delivered: 0, retrying: 0, failed: 0 });
    expect((await services.store.listEvents()).map((e) => [e.type, e.deliveryState])).toEqual([['authorization.granted', 'pending']]);
  });

  it('no secret of the run appears in any event row, webhook body or header', async () => {
    receiver = await startWebhookReceiver(newSecret());
    h = await startHarness({ EVENTS_WEBHOOK_URL: receiver.url, EVENTS_WEBHOOK_SECRET: receiver.secret });
    const browser = new CookieClient();
    const callback = await h.approve(browser, '42');
    const code = new URL(callback).searchParams.get('spapi_oauth_code') ?? '';
    const state = new URL(callback).searchParams.get('state') ?? '';
    expect((await browser.get(callback)).status).toBe(200);
    const second = new CookieClient();
    const failing = await h.approve(second, '43', { sellingPartnerId: 'A2SANDBOXSELLER2' });
    h.lwa.fail({ status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: 'The request has an invalid grant parameter : code' }) });
    expect((await second.get(failing)).status).toBe(400);
    h.lwa.sandbox.revokeSeller('A1SANDBOXSELLER1');
    h.clock.advance(3_600_000);
    await api.request(`${h.origin}/api/customers/42/access-token`, { method: 'POST' });
    const services = await h.services();
    await services.store.unlinkCredential({ customerId: '42', scope: 'NA', now: h.clock.now() });
    await receiver.deliveries(4);
    await services.events.deliverDue();

    const rows = await services.store.listEvents();
    expect(rows.map((e) => e.type).sort()).toEqual(['authorization.failed', 'authorization.granted', 'authorization.revoked', 'authorization.unlinked']);
    const everything = JSON.stringify(rows) + JSON.stringify(receiver.received.map((r) => ({ ...r, signature: '' })));
    const secrets = [
      ...h.lwa.issuedTokens,
      code,
      state,
      h.secrets.clientSecret,
      h.secrets.launchLinkSecret,
      h.secrets.tokenKey,
      receiver.secret,
      receiver.secret.slice('whsec_'.length),
    ].filter((s) => s.length >= 8);
    expect(secrets.length).toBeGreaterThan(6);
    for (const secret of secrets) expect(everything).not.toContain(secret);
    expect(everything).not.toMatch(/v1:test1:/); // no envelope either
  });
});
