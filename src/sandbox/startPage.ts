import type { App } from '../app.js';
import { buildLaunchLink } from '../authorization/launchLink.js';
import { MARKETPLACE_CODES } from '../authorization/marketplaces.js';
import { html } from '../http/html.js';
import type { LocalPage } from '../http/localHost.js';
import { htmlResponse, redirect } from '../http/responses.js';

/**
 * The local start page at `/`: plays oxWebApp (signs a fresh launch link for the "Authorize Shipica" button) and
 * shows the stored rows, status only. Served by the local host alone; it never exists in Azure.
 */
const LINK_LIFETIME_SECONDS = 600;

export function startPages(app: App, options: { sandbox: boolean }): LocalPage[] {
  return [
    {
      method: 'GET',
      path: '/',
      handler: async () => {
        const state = await app.state();
        if (!state.ok) {
          return htmlResponse(503, 'Not configured', html`<h1 class="err">Settings need attention</h1><ul>${state.problems.map((p) => html`<li>${p}</li>`)}</ul>`);
        }
        const rows = await state.services.store.listCredentials();
        const options_ = MARKETPLACE_CODES.map((code) => html`<option${code === 'US' ? html` selected` : html``}>${code}</option>`);
        const table = rows.map(
          (r) => html`<tr><td>${r.customerId}</td><td>${r.region}</td><td>${r.marketplace}</td><td>${r.sellingPartnerId}</td><td>${r.status}</td><td>${r.authRequestedDate?.toISOString()}</td><td>${r.authGrantedDate?.toISOString()}</td><td>${r.lastError}</td></tr>`,
        );
        return htmlResponse(
          200,
          'Shipica seller authorization (local)',
          html`<h1>Shipica seller authorization</h1>
<p>${options.sandbox ? 'Sandbox mode: Seller Central and Login with Amazon are local stand-ins; no request leaves this machine.' : `Local host using the configured Amazon endpoints.`}</p>
<form method="get" action="/start/launch">
<label>Customer id <input name="customer_id" value="42" maxlength="64" required></label>
<label>Marketplace <select name="marketplace">${options_}</select></label>
<button type="submit">Authorize Shipica</button>
</form>
<h2>Stored authorizations</h2>
${rows.length === 0 ? html`<p>None yet.</p>` : html`<table><thead><tr><th>customer_id</th><th>region</th><th>marketplace</th><th>selling_partner_id</th><th>status</th><th>requested</th><th>granted</th><th>last_error</th></tr></thead><tbody>${table}</tbody></table>`}
<p><small><a href="/api/health">/api/health</a></small></p>`,
        );
      },
    },
    {
      method: 'GET',
      path: '/start/launch',
      // Signs at click time, as oxWebApp does, so the button's link is always fresh.
      handler: async (request) => {
        const state = await app.state();
        if (!state.ok) return redirect('/');
        const { settings, clock } = state.services;
        const link = buildLaunchLink(
          request.url,
          {
            customerId: request.query.get('customer_id') ?? '',
            marketplace: request.query.get('marketplace') ?? '',
            expires: Math.floor(clock.now().getTime() / 1000) + LINK_LIFETIME_SECONDS,
          },
          settings.launchLinkSecret,
        );
        return redirect(link);
      },
    },
  ];
}
