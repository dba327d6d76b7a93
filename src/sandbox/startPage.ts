import type { App } from '../app.js';
import { buildLaunchLink } from '../authorization/launchLink.js';
import { isRegion, MARKETPLACE_CODES } from '../authorization/marketplaces.js';
import type { SandboxLwa } from './sandboxLwa.js';
import { html } from '../http/html.js';
import type { LocalPage } from '../http/localHost.js';
import { htmlResponse, redirect } from '../http/responses.js';

/**
 * The local start page at `/`: plays oxWebApp (signs a fresh launch link for the "Authorize Shipica" button) and
 * shows the stored rows, status only. Served by the local host alone; it never exists in Azure.
 */
const LINK_LIFETIME_SECONDS = 600;

/** Without `sandboxLwa` (real LWA settings) the page cannot revoke sellers, and says it is not the sandbox. */
export function startPages(app: App, options: { sandboxLwa: SandboxLwa | undefined }): LocalPage[] {
  const sandboxLwa = options.sandboxLwa;
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
        const actions = (r: (typeof rows)[number]) =>
          r.status !== 'authorized'
            ? html``
            : html`<form method="post" action="/start/access-token"><input type="hidden" name="customer_id" value="${r.customerId}"><input type="hidden" name="region" value="${r.region}"><button type="submit" class="secondary">Get access token</button></form>${
                sandboxLwa !== undefined && r.sellingPartnerId !== null
                  ? html` <form method="post" action="/start/revoke"><input type="hidden" name="selling_partner_id" value="${r.sellingPartnerId}"><button type="submit" class="secondary">Revoke at Amazon</button></form>`
                  : html``
              }`;
        const table = rows.map(
          (r) => html`<tr><td>${r.customerId}</td><td>${r.region}</td><td>${r.marketplace}</td><td>${r.sellingPartnerId}</td><td>${r.status}</td><td>${r.authRequestedDate?.toISOString()}</td><td>${r.authGrantedDate?.toISOString()}</td><td>${r.lastError}</td><td>${actions(r)}</td></tr>`,
        );
        return htmlResponse(
          200,
          'Shipica seller authorization (local)',
          html`<h1>Shipica seller authorization</h1>
<p>${sandboxLwa !== undefined ? 'Sandbox mode: Seller Central and Login with Amazon are local stand-ins; no request leaves this machine.' : `Local host using the configured Amazon endpoints.`}</p>
<form method="get" action="/start/launch">
<label>Customer id <input name="customer_id" value="42" maxlength="64" required></label>
<label>Marketplace <select name="marketplace">${options_}</select></label>
<button type="submit">Authorize Shipica</button>
</form>
<h2>Stored authorizations</h2>
${rows.length === 0 ? html`<p>None yet.</p>` : html`<table><thead><tr><th>customer_id</th><th>region</th><th>marketplace</th><th>selling_partner_id</th><th>status</th><th>requested</th><th>granted</th><th>last_error</th><th></th></tr></thead><tbody>${table}</tbody></table>`}
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
    {
      method: 'POST',
      path: '/start/access-token',
      // What Shipica's other processes get from POST /api/customers/{id}/access-token; the token itself stays hidden.
      handler: async (request) => {
        const state = await app.state();
        if (!state.ok) return redirect('/');
        const form = new URLSearchParams(await request.text());
        const region = form.get('region') ?? '';
        const result = await state.services.accessTokens.get({ customerId: form.get('customer_id') ?? '', region: isRegion(region) ? region : undefined });
        const body = result.ok
          ? html`<h1 class="ok">Access token issued</h1><p>Customer <code>${result.token.customerId}</code>, seller <code>${result.token.sellingPartnerId}</code>, ${result.token.region}: token ending <code>…${result.token.accessToken.slice(-4)}</code>, expires ${result.token.expiresAt.toISOString()}.</p>`
          : html`<h1 class="err">No access token</h1><p><code>${result.error}</code>: ${result.message}</p>`;
        return htmlResponse(result.ok ? 200 : 409, 'Access token', html`${body}<p><a href="/">Back</a></p>`);
      },
    },
    ...(sandboxLwa === undefined
      ? []
      : [
          {
            method: 'POST' as const,
            path: '/start/revoke',
            // As when a seller removes the app in Seller Central: Amazon refuses the refresh token from now on, and
            // SP-API the access token, so a caller asks again with ?refresh=true; done here in one step.
            handler: async (request: Parameters<LocalPage['handler']>[0]) => {
              const seller = new URLSearchParams(await request.text()).get('selling_partner_id');
              const state = await app.state();
              if (seller === null || !state.ok) return redirect('/');
              sandboxLwa.revokeSeller(seller);
              for (const row of await state.services.store.listCredentialsFor({ sellingPartnerId: seller })) {
                if (row.status === 'authorized') await state.services.accessTokens.get({ customerId: row.customerId, region: row.region, forceRefresh: true });
              }
              return redirect('/');
            },
          },
        ]),
  ];
}
