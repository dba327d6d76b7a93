import { randomBytes } from 'node:crypto';
import { CREDENTIAL_SCOPES, isScope, SCOPE_NAMES, type CredentialScope } from '../credentials/index.js';
import type { LocalPage } from '../http/localHost.js';
import { html, type Html } from '../http/html.js';
import { htmlResponse, jsonResponse, redirect } from '../http/responses.js';
import { queryOf, type HttpResult } from '../http/types.js';
import type { SandboxLwa } from './sandboxLwa.js';
import { SANDBOX_PATHS } from './sandboxSettings.js';

/**
 * Sandbox Seller Central, as Amazon behaves:
 * - the consent page of the website workflow (Confirm → redirect to the callback with state, selling_partner_id and
 *   a fresh code; Cancel → a page and no callback), with Amazon's checks on application_id, redirect_uri, version;
 * - Manage Your Apps, whose Re-Authorize (and an Appstore install) enters through the app's Login URI with
 *   amazon_callback_uri, amazon_state and selling_partner_id; Amazon's confirm page at amazon_callback_uri then
 *   checks amazon_state and redirect_uri and calls back exactly as in the website workflow.
 * The state is kept server-side while the seller decides, so no page carries it.
 */
export interface SandboxAmazonOptions {
  lwa: SandboxLwa;
  applicationId: string;
  /** The app's registered OAuth Redirect URIs. */
  redirectUris: readonly string[];
  /** The app's registered OAuth Login URI (AppstoreLogin). */
  loginUri: string;
  draftApp: boolean;
  /** The authorizations this sandbox Amazon has granted, as Manage Your Apps lists them. */
  listAuthorizations(): Promise<ReadonlyArray<{ sellingPartnerId: string | null; scope: CredentialScope; status: string }>>;
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
  /** Login-URI flows: Amazon already knows which seller is signed in. */
  sellingPartnerId: string | undefined;
}

const BASE = SANDBOX_PATHS.sellerCentral;
const CONSENT_PATH = `${BASE}/apps/authorize/consent`;
const DECIDE_PATH = `${BASE}/apps/authorize/decide`;
export const MANAGE_APPS_PATH = `${BASE}/apps/manage`;
const LOGIN_START_PATH = `${BASE}/apps/login-uri`;
/**
 * amazon_callback_uri of one Seller Central: the scope it serves is the first path segment after the base (see
 * amazonCallbackScope), as the host tells it at Amazon (sellercentral.amazon.co.jp is JP's).
 */
export const confirmPath = (scope: CredentialScope) => `${BASE}/${scope.toLowerCase()}/apps/authorize/confirm`;

export function sandboxAmazonPages(options: SandboxAmazonOptions): LocalPage[] {
  const pending = new Map<string, PendingConsent>();
  /** amazon_state values handed to the Login URI, each good for one confirm. */
  const amazonStates = new Map<string, { sellingPartnerId: string; scope: CredentialScope }>();

  const checkApp = (redirectUri: string | undefined, version: string | null): HttpResult | undefined => {
    if (redirectUri === undefined || !options.redirectUris.includes(redirectUri)) {
      return amazonError('MD5101', 'The redirect_uri does not match a registered OAuth Redirect URI of this application.');
    }
    const beta = version === 'beta';
    if (options.draftApp && !beta) return amazonError('MD1000', 'This application is in Draft: the request needs version=beta.');
    if (!options.draftApp && beta) return amazonError('MD9100', 'version=beta is only for applications in Draft.');
    return undefined;
  };

  const consentPage = (consent: PendingConsent): HttpResult => {
    const consentId = randomBytes(16).toString('base64url');
    pending.set(consentId, consent);
    const account =
      consent.sellingPartnerId === undefined
        ? html`<p><label>Selling account <select name="selling_partner_id">${SANDBOX_SELLERS.map((s) => html`<option value="${s.sellingPartnerId}">${s.name} (${s.sellingPartnerId})</option>`)}</select></label></p>`
        : html`<p>Selling account <code>${consent.sellingPartnerId}</code></p><input type="hidden" name="selling_partner_id" value="${consent.sellingPartnerId}">`;
    return sandboxPage(
      'Authorize Shipica',
      html`<h1>Authorize Shipica</h1>
<p>Shipica is asking for access to your Amazon selling account through the Selling Partner API.</p>
<form method="post" action="${DECIDE_PATH}">
<input type="hidden" name="consent" value="${consentId}">
${account}
<p><button type="submit" name="decision" value="confirm">Confirm</button>
<button type="submit" name="decision" value="cancel" class="secondary">Cancel</button></p>
</form>`,
    );
  };

  const consent = async (query: URLSearchParams): Promise<HttpResult> => {
    if (query.get('application_id') !== options.applicationId) return amazonError('MD1000', 'This application is not registered (unknown application_id).');
    const redirectUri = query.get('redirect_uri') ?? options.redirectUris[0];
    const refused = checkApp(redirectUri, query.get('version'));
    if (refused !== undefined || redirectUri === undefined) return refused ?? amazonError('MD5101', 'No redirect URI.');
    const state = query.get('state');
    if (state === null || state === '') return amazonError('MD9000', 'The state parameter is missing.');
    return consentPage({ state, redirectUri, sellingPartnerId: undefined });
  };

  /** Amazon's page at amazon_callback_uri, reached after the Login URI redirected back to it. */
  const confirm = (scope: CredentialScope) => async (query: URLSearchParams): Promise<HttpResult> => {
    const amazonState = query.get('amazon_state') ?? '';
    const issued = amazonStates.get(amazonState);
    if (issued === undefined || issued.scope !== scope) return amazonError('MD9000', 'The amazon_state is unknown, used or for another Seller Central.');
    amazonStates.delete(amazonState);
    const redirectUri = query.get('redirect_uri') ?? undefined;
    const refused = checkApp(redirectUri, query.get('version'));
    if (refused !== undefined || redirectUri === undefined) return refused ?? amazonError('MD5101', 'No redirect URI.');
    const state = query.get('state');
    if (state === null || state === '') return amazonError('MD9000', 'The state parameter is missing.');
    return consentPage({ state, redirectUri, sellingPartnerId: issued.sellingPartnerId });
  };

  const decide = async (form: URLSearchParams): Promise<HttpResult> => {
    const consentId = form.get('consent') ?? '';
    const found = pending.get(consentId);
    if (found === undefined) return amazonError('MD9000', 'This consent request has expired or was already answered.');
    // Like Amazon, Back + Confirm on the consent page answers again, with a new code for the same state.
    if (form.get('decision') !== 'confirm') {
      pending.delete(consentId);
      return sandboxPage(
        'Authorization cancelled',
        html`<h1>Authorization cancelled</h1><p>You did not authorize Shipica. Nothing was shared. You can close this window.</p>`,
      );
    }
    const chosen = found.sellingPartnerId ?? form.get('selling_partner_id');
    const seller = SANDBOX_SELLERS.find((s) => s.sellingPartnerId === chosen)?.sellingPartnerId ?? found.sellingPartnerId ?? SANDBOX_SELLERS[0].sellingPartnerId;
    const code = options.lwa.issueCode({ redirectUri: found.redirectUri, sellingPartnerId: seller });
    const callback = new URL(found.redirectUri);
    callback.searchParams.set('state', found.state);
    callback.searchParams.set('selling_partner_id', seller);
    callback.searchParams.set('spapi_oauth_code', code);
    return redirect(callback.toString());
  };

  /** Re-Authorize or Install: Amazon sends the browser to the app's Login URI. */
  const enterLoginUri = async (request: { url: string }): Promise<HttpResult> => {
    const query = queryOf(request);
    const sellingPartnerId = query.get('selling_partner_id') ?? '';
    const scope = query.get('scope') ?? '';
    if (!SANDBOX_SELLERS.some((s) => s.sellingPartnerId === sellingPartnerId) || !isScope(scope)) {
      return amazonError('MD9000', 'Unknown selling account or Seller Central.');
    }
    const amazonState = randomBytes(16).toString('base64url');
    amazonStates.set(amazonState, { sellingPartnerId, scope });
    const login = new URL(options.loginUri);
    login.searchParams.set('amazon_callback_uri', new URL(confirmPath(scope), request.url).toString());
    login.searchParams.set('amazon_state', amazonState);
    login.searchParams.set('selling_partner_id', sellingPartnerId);
    if (options.draftApp) login.searchParams.set('version', 'beta');
    return redirect(login.toString());
  };

  const manageYourApps = async (): Promise<HttpResult> => {
    const rows = (await options.listAuthorizations()).filter((r) => r.sellingPartnerId !== null);
    const reauthorize = (r: { sellingPartnerId: string | null; scope: CredentialScope; status: string }): Html =>
      html`<tr><td data-label="selling account"><code>${r.sellingPartnerId}</code></td><td data-label="Seller Central">${SCOPE_NAMES[r.scope]}</td><td data-label="status at Shipica">${r.status}</td><td><form method="get" action="${LOGIN_START_PATH}"><input type="hidden" name="selling_partner_id" value="${r.sellingPartnerId}"><input type="hidden" name="scope" value="${r.scope}"><button type="submit">Re-Authorize</button></form></td></tr>`;
    return sandboxPage(
      'Manage Your Apps',
      html`<h1>Manage Your Apps</h1>
<p>Apps you have authorized. Amazon asks you to re-authorize each one every 365 days.</p>
${rows.length === 0 ? html`<p>No authorized apps yet.</p>` : html`<table><thead><tr><th>selling account</th><th>Seller Central</th><th>status at Shipica</th><th></th></tr></thead><tbody>${rows.map(reauthorize)}</tbody></table>`}
<h2>Install Shipica from the Appstore</h2>
<form method="get" action="${LOGIN_START_PATH}">
<label>Selling account <select name="selling_partner_id">${SANDBOX_SELLERS.map((s) => html`<option value="${s.sellingPartnerId}">${s.name} (${s.sellingPartnerId})</option>`)}</select></label>
<label>Seller Central <select name="scope">${CREDENTIAL_SCOPES.map((s) => html`<option value="${s}">${SCOPE_NAMES[s]}</option>`)}</select></label>
<button type="submit">Authorize now</button>
</form>`,
    );
  };

  return [
    { method: 'GET', path: CONSENT_PATH, handler: (request) => consent(queryOf(request)) },
    ...CREDENTIAL_SCOPES.map((scope): LocalPage => ({ method: 'GET', path: confirmPath(scope), handler: (request) => confirm(scope)(queryOf(request)) })),
    { method: 'POST', path: DECIDE_PATH, handler: async (request) => decide(new URLSearchParams(await request.text())) },
    { method: 'GET', path: MANAGE_APPS_PATH, handler: manageYourApps },
    { method: 'GET', path: LOGIN_START_PATH, handler: enterLoginUri },
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

function sandboxPage(title: string, body: Html, status = 200): HttpResult {
  return htmlResponse(
    status,
    `${title} — Sandbox Seller Central`,
    html`<p><small>Sandbox Seller Central — a local stand-in for Amazon, not Amazon. <a href="${MANAGE_APPS_PATH}">Manage Your Apps</a> · <a href="/">Shipica (local)</a></small></p>${body}`,
  );
}
