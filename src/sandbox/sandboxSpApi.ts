import { REGIONS, type Clock, type Region } from '../credentials/index.js';
import type { LocalPage } from '../http/localHost.js';
import { html } from '../http/html.js';
import { htmlResponse, jsonResponse, redirect } from '../http/responses.js';
import type { HttpResult } from '../http/types.js';
import { regionMarketplaces } from '../spapi/marketplaceIds.js';
import { MARKETPLACE_PARTICIPATIONS_PATH } from '../spapi/sellersClient.js';
import { SANDBOX_SELLERS } from './sandboxAmazon.js';
import type { SandboxLwa } from './sandboxLwa.js';

/**
 * The sandbox SP-API: `GET /sellers/v1/marketplaceParticipations` under `/sandbox/spapi/{na,eu,fe}`, answering as
 * Amazon does for the seller whose access token is presented (issued by the sandbox LWA): every marketplace of the
 * endpoint's region, participating, with a store name. A seller can be switched to answer with another region's
 * marketplaces (`other_region`), with 403 Unauthorized (`denied`: the app lacks the Sellers API role) or with 429
 * (`throttled`), from the page at /sandbox/spapi or by tests.
 */
export const SANDBOX_SPAPI_BASE = '/sandbox/spapi';
const SELF_AUTHORIZE_PATH = `${SANDBOX_SPAPI_BASE}/self-authorize`;
export const sandboxSpApiEndpoint = (origin: string, region: Region): string => `${origin}${SANDBOX_SPAPI_BASE}/${region.toLowerCase()}`;

export const SPAPI_MODES = ['normal', 'other_region', 'denied', 'throttled'] as const;
export type SpApiMode = (typeof SPAPI_MODES)[number];

/** Sandbox: 0.016 requests/s per seller and app, as Amazon's usage plan for this operation. */
const RATE_LIMIT = '0.016';

export class SandboxSpApi {
  private readonly modes = new Map<string, SpApiMode>();
  /** Calls answered, by seller: what tests count ("each seller checked once"). */
  readonly calls = new Map<string, number>();

  constructor(private readonly options: { lwa: SandboxLwa; clock: Clock }) {}

  setMode(sellingPartnerId: string, mode: SpApiMode): void {
    this.modes.set(sellingPartnerId, mode);
  }

  modeOf(sellingPartnerId: string): SpApiMode {
    return this.modes.get(sellingPartnerId) ?? 'normal';
  }

  /** The answer to one marketplaceParticipations request on `region`'s endpoint. */
  participations(region: Region, accessToken: string | null): HttpResult {
    const seller = accessToken === null ? undefined : this.options.lwa.sellerOfAccessToken(accessToken);
    if (seller === undefined) {
      return spApiError(403, 'Unauthorized', 'Access to requested resource is denied.', 'The access token you provided is revoked, malformed or invalid.');
    }
    this.calls.set(seller, (this.calls.get(seller) ?? 0) + 1);
    const mode = this.modeOf(seller);
    if (mode === 'denied') return spApiError(403, 'Unauthorized', 'Access to requested resource is denied.', '');
    if (mode === 'throttled') return spApiError(429, 'QuotaExceeded', 'You exceeded your quota for the requested resource.', '', { 'x-amzn-RateLimit-Limit': RATE_LIMIT });
    const shown = mode === 'other_region' ? (region === 'NA' ? 'EU' : 'NA') : region;
    const storeName = SANDBOX_SELLERS.find((s) => s.sellingPartnerId === seller)?.name ?? 'Sandbox store';
    const payload = regionMarketplaces(shown).map((m) => ({
      marketplace: { id: m.marketplaceId, countryCode: m.countryCode, name: `Amazon (${m.code})`, defaultCurrencyCode: 'USD', defaultLanguageCode: 'en_US', domainName: 'www.amazon.example' },
      participation: { isParticipating: true, hasSuspendedListings: false },
      storeName,
    }));
    return jsonResponse(200, { payload }, { 'x-amzn-RateLimit-Limit': RATE_LIMIT });
  }

  /** The endpoints and the small control page, for the local host. */
  pages(): LocalPage[] {
    return [
      ...REGIONS.map((region): LocalPage => ({
        method: 'GET',
        path: `${SANDBOX_SPAPI_BASE}/${region.toLowerCase()}${MARKETPLACE_PARTICIPATIONS_PATH}`,
        handler: async (request) => this.participations(region, request.headers.get('x-amz-access-token')),
      })),
      { method: 'GET', path: SANDBOX_SPAPI_BASE, handler: async () => this.controlPage() },
      {
        method: 'POST',
        path: SELF_AUTHORIZE_PATH,
        handler: async (request) => {
          const chosen = new URLSearchParams(await request.text()).get('selling_partner_id');
          const seller = SANDBOX_SELLERS.find((s) => s.sellingPartnerId === chosen);
          if (seller === undefined) return redirect(SANDBOX_SPAPI_BASE);
          // Shown once, as Seller Central does; this page is the sandbox's, never served in Azure.
          const token = this.options.lwa.selfAuthorize(seller.sellingPartnerId);
          return htmlResponse(
            200,
            'Private app authorized',
            html`<p><small>Sandbox Seller Central — not Amazon.</small></p><h1>Refresh token for ${seller.sellingPartnerId}</h1>
<p>Copy it now: it is shown once. Import it with <code>npm run ops -- import-refresh-token --customer ID --marketplace US --selling-partner-id ${seller.sellingPartnerId}</code> and paste it when asked.</p>
<p><textarea rows="9" readonly>${token}</textarea></p><p><a href="${SANDBOX_SPAPI_BASE}">Back</a></p>`,
          );
        },
      },
      {
        method: 'POST',
        path: SANDBOX_SPAPI_BASE,
        handler: async (request) => {
          const form = new URLSearchParams(await request.text());
          const seller = SANDBOX_SELLERS.find((s) => s.sellingPartnerId === form.get('selling_partner_id'));
          const mode = SPAPI_MODES.find((m) => m === form.get('mode'));
          if (seller !== undefined && mode !== undefined) this.setMode(seller.sellingPartnerId, mode);
          return redirect(SANDBOX_SPAPI_BASE);
        },
      },
    ];
  }

  private controlPage(): HttpResult {
    const row = (s: (typeof SANDBOX_SELLERS)[number]) =>
      html`<tr><td><code>${s.sellingPartnerId}</code></td><td>${this.modeOf(s.sellingPartnerId)}</td><td>${String(this.calls.get(s.sellingPartnerId) ?? 0)}</td><td><form method="post" action="${SANDBOX_SPAPI_BASE}"><input type="hidden" name="selling_partner_id" value="${s.sellingPartnerId}"><select name="mode">${SPAPI_MODES.map((m) => html`<option>${m}</option>`)}</select><button type="submit">Set</button></form></td></tr>`;
    return htmlResponse(
      200,
      'Sandbox SP-API',
      html`<p><small>Sandbox SP-API — a local stand-in for Amazon, not Amazon. <a href="/">Shipica (local)</a></small></p>
<h1>Sandbox SP-API: marketplaceParticipations</h1>
<p>normal: the endpoint's region; other_region: another region's marketplaces (the sweep flags region_mismatch); denied: 403 (the sweep flags spapi_access_denied); throttled: 429.</p>
<table><thead><tr><th>seller</th><th>mode</th><th>calls</th><th></th></tr></thead><tbody>${SANDBOX_SELLERS.map(row)}</tbody></table>
<h2>Develop Apps: authorize a private app (self-authorization)</h2>
<form method="post" action="${SELF_AUTHORIZE_PATH}"><select name="selling_partner_id">${SANDBOX_SELLERS.map((s) => html`<option>${s.sellingPartnerId}</option>`)}</select><button type="submit">Authorize</button></form>`,
    );
  }
}

function spApiError(status: number, code: string, message: string, details: string, headers: Record<string, string> = {}): HttpResult {
  return jsonResponse(status, { errors: [{ code, message, details }] }, headers);
}
