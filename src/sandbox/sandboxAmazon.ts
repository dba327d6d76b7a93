import { randomBytes } from 'node:crypto';
import type { LocalPage } from '../http/localHost.js';
import { html } from '../http/html.js';
import { htmlResponse, jsonResponse, redirect } from '../http/responses.js';
import type { HttpResult } from '../http/types.js';
import type { SandboxLwa } from './sandboxLwa.js';
import { SANDBOX_PATHS } from './sandboxSettings.js';

/**
 * Sandbox Seller Central: the consent page (Confirm → redirect to the callback with state, selling_partner_id and a
 * fresh code; Cancel → a page and no callback, as Amazon does), with Amazon's checks on application_id,
 * redirect_uri and version=beta. The state is kept server-side while the seller decides, so no page carries it.
 */
export interface SandboxAmazonOptions {
  lwa: SandboxLwa;
  applicationId: string;
  /** The app's registered OAuth Redirect URIs. */
  redirectUris: readonly string[];
  draftApp: boolean;
}

/** Fake merchant tokens; the first is what Confirm sends unless the seller picks another account. */
export const SANDBOX_SELLERS = [
  { sellingPartnerId: 'A1SANDBOXSELLER1', name: 'Sandbox Seller One' },
  { sellingPartnerId: 'A2SANDBOXSELLER2', name: 'Sandbox Seller Two' },
  { sellingPartnerId: 'A3SANDBOXSELLER3', name: 'Sandbox Seller Three' },
] as const;

interface PendingConsent {
  state: string;
  redirectUri: string;
}

const CONSENT_PATH = `${SANDBOX_PATHS.sellerCentral}/apps/authorize/consent`;
const DECIDE_PATH = `${SANDBOX_PATHS.sellerCentral}/apps/authorize/decide`;

export function sandboxAmazonPages(options: SandboxAmazonOptions): LocalPage[] {
  const pending = new Map<string, PendingConsent>();

  const consent = async (query: URLSearchParams): Promise<HttpResult> => {
    const applicationId = query.get('application_id');
    const state = query.get('state');
    const redirectUri = query.get('redirect_uri') ?? options.redirectUris[0];
    if (applicationId !== options.applicationId) return amazonError('MD1000', 'This application is not registered (unknown application_id).');
    if (redirectUri === undefined || !options.redirectUris.includes(redirectUri)) {
      return amazonError('MD5101', 'The redirect_uri does not match a registered OAuth Redirect URI of this application.');
    }
    const beta = query.get('version') === 'beta';
    if (options.draftApp && !beta) return amazonError('MD1000', 'This application is in Draft: the consent URL needs version=beta.');
    if (!options.draftApp && beta) return amazonError('MD9100', 'version=beta is only for applications in Draft.');
    if (state === null || state === '') return amazonError('MD9000', 'The state parameter is missing.');

    const consentId = randomBytes(16).toString('base64url');
    pending.set(consentId, { state, redirectUri });
    const sellers = SANDBOX_SELLERS.map((s) => html`<option value="${s.sellingPartnerId}">${s.name} (${s.sellingPartnerId})</option>`);
    return sandboxPage(
      'Authorize Shipica',
      html`<h1>Authorize Shipica</h1>
<p>Shipica is asking for access to your Amazon selling account through the Selling Partner API.</p>
<form method="post" action="${DECIDE_PATH}">
<input type="hidden" name="consent" value="${consentId}">
<p><label>Selling account <select name="selling_partner_id">${sellers}</select></label></p>
<p><button type="submit" name="decision" value="confirm">Confirm</button>
<button type="submit" name="decision" value="cancel" class="secondary">Cancel</button></p>
</form>`,
    );
  };

  const decide = async (form: URLSearchParams): Promise<HttpResult> => {
    const consentId = form.get('consent') ?? '';
    const found = pending.get(consentId);
    if (found === undefined) return amazonError('MD9000', 'This consent request has expired or was already answered.');
    pending.delete(consentId);
    if (form.get('decision') !== 'confirm') {
      return sandboxPage(
        'Authorization cancelled',
        html`<h1>Authorization cancelled</h1><p>You did not authorize Shipica. Nothing was shared. You can close this window.</p>`,
      );
    }
    const chosen = form.get('selling_partner_id');
    const seller = SANDBOX_SELLERS.find((s) => s.sellingPartnerId === chosen) ?? SANDBOX_SELLERS[0];
    const code = options.lwa.issueCode({ redirectUri: found.redirectUri, sellingPartnerId: seller.sellingPartnerId });
    const callback = new URL(found.redirectUri);
    callback.searchParams.set('state', found.state);
    callback.searchParams.set('selling_partner_id', seller.sellingPartnerId);
    callback.searchParams.set('spapi_oauth_code', code);
    return redirect(callback.toString());
  };

  return [
    { method: 'GET', path: CONSENT_PATH, handler: (request) => consent(request.query) },
    { method: 'POST', path: DECIDE_PATH, handler: async (request) => decide(new URLSearchParams(await request.text())) },
    {
      method: 'POST',
      path: SANDBOX_PATHS.lwaToken,
      handler: async (request) => {
        const answer = options.lwa.handleTokenRequest(new URLSearchParams(await request.text()));
        return jsonResponse(answer.status, answer.body);
      },
    },
  ];
}

function amazonError(code: string, message: string): HttpResult {
  return sandboxPage(`Error ${code}`, html`<h1 class="err">We're sorry</h1><p>${message}</p><p>Error code: <code>${code}</code></p>`, 400);
}

function sandboxPage(title: string, body: ReturnType<typeof html>, status = 200): HttpResult {
  return htmlResponse(
    status,
    `${title} — Sandbox Seller Central`,
    html`<p><small>Sandbox Seller Central — a local stand-in for Amazon, not Amazon.</small></p>${body}`,
  );
}
