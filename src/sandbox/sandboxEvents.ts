import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { CredentialStore, EventRecord } from '../credentials/index.js';
import type { App } from '../app.js';
import type { LocalPage } from '../http/localHost.js';
import { html } from '../http/html.js';
import { htmlResponse } from '../http/responses.js';
import type { HttpResult } from '../http/types.js';

/**
 * The sandbox's side of the events: a small webhook receiver on the local host (`POST /sandbox/webhooks`), standing
 * in for oxWebApp, that checks every signature with the `standardwebhooks` verifier, and a page (`/sandbox/events`)
 * listing the outbox rows and what the receiver got. In sandbox mode delivery points here unless EVENTS_WEBHOOK_URL
 * is configured.
 */
export const SANDBOX_WEBHOOK_PATH = '/sandbox/webhooks';
export const SANDBOX_EVENTS_PATH = '/sandbox/events';
const KEPT = 50;

/** The sandbox's webhook secret, derived from its token key (so it needs no new field in .data/sandbox-secrets.json). */
export function sandboxWebhookSecret(tokenKey: string): string {
  return `whsec_${createHmac('sha256', tokenKey).update('sandbox events webhook').digest('base64')}`;
}

interface Received {
  at: string;
  id: string;
  type: string;
  verified: boolean;
}

export function sandboxEventsPages(app: App, secret: string): LocalPage[] {
  const verifier = new Webhook(secret);
  const received: Received[] = [];

  const receive = async (request: { headers: { get(name: string): string | null }; text(): Promise<string> }): Promise<HttpResult> => {
    const body = await request.text();
    const header = (name: string): string => request.headers.get(name) ?? '';
    let verified = true;
    let type = '?';
    try {
      const payload = verifier.verify(body, {
        'webhook-id': header('webhook-id'),
        'webhook-timestamp': header('webhook-timestamp'),
        'webhook-signature': header('webhook-signature'),
      });
      if (typeof payload === 'object' && payload !== null && 'type' in payload && typeof payload.type === 'string') type = payload.type;
    } catch {
      verified = false;
    }
    received.unshift({ at: new Date().toISOString(), id: header('webhook-id'), type, verified });
    received.length = Math.min(received.length, KEPT);
    return { status: verified ? 204 : 401 };
  };

  const page = async (): Promise<HttpResult> => {
    const state = await app.state();
    const events = state.ok ? (await newestEvents(state.services.store)).reverse() : [];
    const target = state.ok ? state.services.settings.eventsWebhook?.url : undefined;
    return htmlResponse(
      200,
      'Events',
      html`<p><small><a href="/">Shipica (local)</a></small></p>
<h1>Events for oxWebApp</h1>
<p>${target === undefined ? html`No EVENTS_WEBHOOK_URL: the table is the interface.` : html`Delivered to <code>${target}</code>${target.endsWith(SANDBOX_WEBHOOK_PATH) ? html` (the receiver below, on this host)` : html``}.`}</p>
<h2>sp_api_events (newest first)</h2>
${events.length === 0 ? html`<p>No events yet.</p>` : html`<table><thead><tr><th>id</th><th>type</th><th>customer</th><th>region</th><th>seller</th><th>occurred (UTC)</th><th>delivery</th><th>tries</th></tr></thead><tbody>${events.map((e) => html`<tr><td>${String(e.eventId)}</td><td>${e.type}</td><td>${e.customerId}</td><td>${e.region}</td><td>${e.sellingPartnerId ?? '-'}</td><td>${e.occurredAt.toISOString()}</td><td>${e.deliveryState}</td><td>${String(e.deliveryAttempts)}</td></tr>`)}</tbody></table>`}
<h2>Received by the local receiver (${SANDBOX_WEBHOOK_PATH})</h2>
${received.length === 0 ? html`<p>Nothing received yet.</p>` : html`<table><thead><tr><th>received</th><th>webhook-id</th><th>type</th><th>signature</th></tr></thead><tbody>${received.map((r) => html`<tr><td>${r.at}</td><td>${r.id}</td><td>${r.type}</td><td>${r.verified ? 'verified' : 'REFUSED'}</td></tr>`)}</tbody></table>`}`,
    );
  };

  return [
    { method: 'POST', path: SANDBOX_WEBHOOK_PATH, handler: receive },
    { method: 'GET', path: SANDBOX_EVENTS_PATH, handler: page },
  ];
}

/** The last KEPT rows of the outbox: listEvents pages oldest first, so it is read to the end (a sandbox's table is small). */
async function newestEvents(store: Pick<CredentialStore, 'listEvents'>): Promise<EventRecord[]> {
  let kept: EventRecord[] = [];
  for (let after = 0; ; ) {
    const page = await store.listEvents({ afterEventId: after, limit: 1000 });
    kept = [...kept, ...page].slice(-KEPT);
    const last = page.at(-1);
    if (last === undefined || page.length < 1000) return kept;
    after = last.eventId;
  }
}
