import { isScope, MARKETPLACE_CODES, MARKETPLACES, regionOfScope } from '../credentials/index.js';
import type { App } from '../app.js';
import { amazonCallbackScope } from '../authorization/amazonCallback.js';
import { buildLaunchLink, type AppstoreFields } from '../authorization/launchLink.js';
import { MANAGE_APPS_PATH } from './sandboxAmazon.js';
import type { SandboxLwa } from './sandboxLwa.js';
import { html, longText } from '../http/html.js';
import type { LocalPage } from '../http/localHost.js';
import { htmlResponse, redirect } from '../http/responses.js';
import { queryOf } from '../http/types.js';

/**
 * The local start page at `/`: plays oxWebApp (signs a fresh launch link for the "Authorize Shipica" button, and
 * logs in a seller who arrives from an Appstore install) and shows the ops view, status only. Served by the local
 * host alone; it never exists in Azure.
 */
const LINK_LIFETIME_SECONDS = 600;
export const OXWEBAPP_LOGIN_PATH = '/start/oxwebapp';
/** What the Login URI passes on to OXWEBAPP_LINK_URL for an Appstore install. */
const APPSTORE_FIELDS = ['amazon_callback_uri', 'amazon_state', 'selling_partner_id', 'version'] as const;

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
        const rows = await state.services.store.listCredentialStatus({}, state.services.clock.now());
        const options_ = MARKETPLACE_CODES.map((code) => html`<option${code === 'US' ? html` selected` : html``}>${code}</option>`);
        const actions = (r: (typeof rows)[number]) =>
          r.status !== 'authorized'
            ? html``
            : html`<form method="post" action="/start/access-token"><input type="hidden" name="customer_id" value="${r.customerId}"><input type="hidden" name="scope" value="${r.scope}"><button type="submit" class="secondary">Get access token</button></form>${
                sandboxLwa !== undefined && r.sellingPartnerId !== null
                  ? html` <form method="post" action="/start/revoke"><input type="hidden" name="customer_id" value="${r.customerId}"><input type="hidden" name="scope" value="${r.scope}"><button type="submit" class="secondary">Revoke at Amazon</button></form>`
                  : html``
              }`;
        const day = (d: Date | null) => d?.toISOString().slice(0, 10);
        // data-label names each cell where a narrow screen shows the row as a block (html.ts).
        const table = rows.map(
          (r) =>
            html`<tr><td data-label="customer_id">${r.customerId}</td><td data-label="scope">${r.scope}</td><td data-label="marketplace">${r.marketplace}</td><td data-label="selling_partner_id">${r.sellingPartnerId}</td><td data-label="status">${r.status}</td><td data-label="granted" class="nowrap">${day(r.authGrantedDate)}</td><td data-label="reauthorize by" class="nowrap">${day(r.reauthorizeBy)}</td><td data-label="days left">${r.daysLeft}</td><td data-label="last attempt">${r.lastAttemptOutcome}${r.lastAttemptReason ? ` (${r.lastAttemptReason})` : ''}</td><td data-label="last_error">${longText(r.lastError)}</td><td>${actions(r)}</td></tr>`,
        );
        return htmlResponse(
          200,
          'Shipica seller authorization (local)',
          html`<h1>Shipica seller authorization</h1>
<p>${sandboxLwa !== undefined ? html`Sandbox mode: Seller Central and Login with Amazon are local stand-ins; no request leaves this machine. Sellers re-authorize from <a href="${MANAGE_APPS_PATH}">Manage Your Apps</a> (which also has an Appstore install).` : html`Local host using the configured Amazon endpoints.`}</p>
<form method="get" action="/start/launch">
<label>Customer id <input name="customer_id" value="42" maxlength="64" required></label>
<label>Marketplace <select name="marketplace">${options_}</select></label>
<button type="submit">Authorize Shipica</button>
</form>
<h2>Authorizations (the ops view)</h2>
${rows.length === 0 ? html`<p>None yet.</p>` : html`<table><thead><tr><th>customer_id</th><th>scope</th><th>marketplace</th><th>selling_partner_id</th><th>status</th><th>granted</th><th>reauthorize by</th><th>days left</th><th>last attempt</th><th>last_error</th><th></th></tr></thead><tbody>${table}</tbody></table>`}
<p><small><a href="/api/health">/api/health</a> · <a href="/api/credentials">/api/credentials</a> · <a href="/sandbox/events">events for oxWebApp</a> · <a href="/sandbox/spapi">sandbox SP-API</a></small></p>`,
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
        const query = queryOf(request);
        const link = buildLaunchLink(
          request.url,
          {
            customerId: query.get('customer_id') ?? '',
            marketplace: query.get('marketplace') ?? '',
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
        const scope = form.get('scope') ?? '';
        const result = await state.services.accessTokens.get({ customerId: form.get('customer_id') ?? '', scope: isScope(scope) ? scope : undefined });
        const body = result.ok
          ? html`<h1 class="ok">Access token issued</h1><p>Customer <code>${result.token.customerId}</code>, seller <code>${result.token.sellingPartnerId}</code>, ${result.token.scope}: token ending <code>…${result.token.accessToken.slice(-4)}</code>, expires ${result.token.expiresAt.toISOString()}.</p>`
          : html`<h1 class="err">No access token</h1><p><code>${result.error}</code>: ${result.message}</p>`;
        return htmlResponse(result.ok ? 200 : 409, 'Access token', html`${body}<p><a href="/">Back</a></p>`);
      },
    },
    {
      method: 'GET',
      path: OXWEBAPP_LOGIN_PATH,
      // OXWEBAPP_LINK_URL, played: Amazon's fields (an Appstore install: the Login URI sent an unknown seller here),
      // or none at all (a seller coming back from a page's "Back to Shipica"), which is oxWebApp's own page.
      handler: async (request) => {
        const q = queryOf(request);
        if (APPSTORE_FIELDS.every((name) => !q.has(name))) {
          return htmlResponse(
            200,
            'Shipica',
            html`<h1>Shipica (oxWebApp stand-in)</h1>
<p>This is where oxWebApp shows the seller their Shipica account when they come back ("Back to Shipica"). The same address takes Amazon's Appstore installs.</p>
<p><a class="button" href="/">Shipica seller authorization (local)</a></p>`,
          );
        }
        const state = await app.state();
        const scope = state.ok ? amazonCallbackScope(q.get('amazon_callback_uri') ?? '', state.services.settings.sellerCentralUrl) : undefined;
        if (scope === undefined) return htmlResponse(400, 'oxWebApp', html`<h1 class="err">Not a request from Amazon</h1><p><a href="/">Back</a></p>`);
        const hidden = APPSTORE_FIELDS.map((name) =>
          q.get(name) === null ? html`` : html`<input type="hidden" name="${name}" value="${q.get(name) ?? ''}">`,
        );
        const markets = [...MARKETPLACES.values()].filter((m) => m.scope === scope).map((m) => html`<option>${m.code}</option>`);
        return htmlResponse(
          200,
          'Shipica — connect Amazon',
          html`<h1>Shipica (oxWebApp stand-in)</h1>
<p>Amazon seller <code>${q.get('selling_partner_id') ?? ''}</code> is installing Shipica from the Appstore (${scope}). Log in to say which Shipica customer this is.</p>
<form method="get" action="${OXWEBAPP_LOGIN_PATH}/continue">${hidden}
<label>Customer id <input name="customer_id" placeholder="your Shipica customer id" maxlength="64" required></label>
<label>Marketplace <select name="marketplace">${markets}</select></label>
<button type="submit">Log in and continue</button>
</form>`,
        );
      },
    },
    {
      method: 'GET',
      path: `${OXWEBAPP_LOGIN_PATH}/continue`,
      // oxWebApp signs a launch link that also carries Amazon's fields, as the README's snippets show.
      handler: async (request) => {
        const state = await app.state();
        if (!state.ok) return redirect('/');
        const q = queryOf(request);
        const appstore: AppstoreFields = {
          amazonCallbackUri: q.get('amazon_callback_uri') ?? '',
          amazonState: q.get('amazon_state') ?? '',
          sellingPartnerId: q.get('selling_partner_id') ?? '',
          version: q.get('version') ?? undefined,
        };
        const expires = Math.floor(state.services.clock.now().getTime() / 1000) + LINK_LIFETIME_SECONDS;
        const fields = { customerId: q.get('customer_id') ?? '', marketplace: q.get('marketplace') ?? '', expires, appstore };
        return redirect(buildLaunchLink(request.url, fields, state.services.settings.launchLinkSecret));
      },
    },
    ...(sandboxLwa === undefined
      ? []
      : [
          {
            method: 'POST' as const,
            path: '/start/revoke',
            // As when a seller removes the app from one Seller Central account: only Amazon changes, and only for that
            // row's grant (the seller's other credentials keep working). LWA refuses that refresh token from now on and
            // SP-API the access token already issued from it, so this process drops its cached one (SP-API's refusal,
            // played here); the row turns revoked when the next token request reaches LWA, as README says.
            handler: async (request: Parameters<LocalPage['handler']>[0]) => {
              const form = new URLSearchParams(await request.text());
              const customerId = form.get('customer_id') ?? '';
              const scope = form.get('scope') ?? '';
              const state = await app.state();
              if (!state.ok) return redirect('/');
              const row = isScope(scope) ? await state.services.store.findCredential(customerId, scope) : undefined;
              if (row === undefined || row.lwaRefreshToken === null || !isScope(scope)) {
                return htmlResponse(400, 'Revoke at Amazon', html`<h1 class="err">No authorization to revoke</h1><p>No row of that customer and scope holds a refresh token.</p><p><a href="/">Back</a></p>`);
              }
              const refreshToken = state.services.cipher.decrypt(row.lwaRefreshToken, { column: 'lwa_refresh_token', region: regionOfScope(scope), customerId });
              if (!sandboxLwa.revokeGrant(refreshToken)) {
                return htmlResponse(400, 'Revoke at Amazon', html`<h1 class="err">Not a sandbox grant</h1><p>This row's refresh token was not issued by the sandbox Amazon.</p><p><a href="/">Back</a></p>`);
              }
              state.services.tokenCache.delete(customerId, scope);
              return redirect('/');
            },
          },
        ]),
  ];
}
