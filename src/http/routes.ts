import { z } from 'zod';
import { isLoopbackHost } from '../config/settingSchemas.js';
import type { AccessTokenErrorCode, AccessTokenRequest } from '../accessTokens/accessTokenResult.js';
import { describeError, findMarketplace, REGIONS, type CredentialScope, type CredentialStatusRow, type Logger, type Region } from '../credentials/index.js';
import { parseCallbackQuery } from '../authorization/callbackQuery.js';
import { completeAuthorization } from '../authorization/completeAuthorization.js';
import { SELLING_PARTNER_ID_PATTERN } from '../authorization/identifiers.js';
import { isValidCustomerId } from '../authorization/launchLink.js';
import type { CallbackOutcome } from '../authorization/outcomes.js';
import { startAuthorization, type BrowserBinding } from '../authorization/startAuthorization.js';
import { startFromLoginUri } from '../authorization/startFromLoginUri.js';
import { bindingCookieName, sha256Hex } from '../authorization/state.js';
import type { App, Services } from '../app.js';
import { outcomeReason } from '../authorization/outcomes.js';
import {
  callbackPage,
  launchLinkRefusedPage,
  loginRefusedPage,
  notConfiguredPage,
  resultUnavailablePage,
  startFromShipicaPage,
  startUnavailablePage,
  tooManyAttemptsPage,
} from './authorizationPages.js';
import { healthResult } from './health.js';
import { openResult, RESULT_PARAMETER, sealResult, type ResultBinding } from './callbackResult.js';
import { jsonError, jsonResponse, readCookie, redirect } from './responses.js';
import { queryOf, type AuthLevel, type HttpMethod, type HttpRequestLike, type HttpResult } from './types.js';

export interface RouteContext {
  app: App;
  log: Logger;
}

export interface Route {
  /** Function name in Azure. */
  name: string;
  methods: readonly HttpMethod[];
  /** Route under the host's `/api` prefix. */
  route: string;
  authLevel: AuthLevel;
  handler(request: HttpRequestLike, context: RouteContext): Promise<HttpResult>;
}

/** The one route table: registered with `app.http` in Azure (functions/index.ts) and served by the local host. */
export const routes: readonly Route[] = [
  { name: 'AuthorizeStart', methods: ['GET'], route: 'authorize', authLevel: 'anonymous', handler: withServices(authorizeStart, notConfiguredPage) },
  { name: 'LWACallback', methods: ['GET'], route: 'lwa-callback', authLevel: 'anonymous', handler: withServices(lwaCallback, notConfiguredPage) },
  { name: 'Health', methods: ['GET'], route: 'health', authLevel: 'anonymous', handler: health },
  // The app's OAuth Login URI, registered with Amazon: Manage Your Apps > Re-Authorize and Appstore installs enter here.
  { name: 'AppstoreLogin', methods: ['GET'], route: 'login', authLevel: 'anonymous', handler: withServices(appstoreLogin, notConfiguredPage) },
  // Ops: every authorization with its 365-day deadline. Admin (master) key only.
  { name: 'CredentialsStatus', methods: ['GET'], route: 'credentials', authLevel: 'admin', handler: withServices(credentialsStatus, notConfiguredJson) },
  // Shipica's own processes call these with a function key (Azure enforces it; the local host, like Core Tools, does not).
  {
    name: 'AccessToken',
    methods: ['POST'],
    route: 'customers/{customerId}/access-token',
    authLevel: 'function',
    handler: withServices(customerAccessToken, notConfiguredJson),
  },
  {
    name: 'SellerAccessToken',
    methods: ['POST'],
    route: 'sellers/{sellingPartnerId}/access-token',
    authLevel: 'function',
    handler: withServices(sellerAccessToken, notConfiguredJson),
  },
];

type ServiceHandler = (request: HttpRequestLike, services: Services, log: Logger) => Promise<HttpResult>;

/** Handlers that need a configured app get a 503, with the reason logged, when settings or the store are not right. */
function withServices(handler: ServiceHandler, notConfigured: () => HttpResult): Route['handler'] {
  return async (request, { app, log }) => {
    const state = await app.state();
    if (!state.ok) {
      log.error('service is not configured', { problems: state.problems.join(' | ') });
      return notConfigured();
    }
    return handler(request, state.services, log);
  };
}

function notConfiguredJson(): HttpResult {
  return jsonError(503, 'not_configured', 'The service is not configured correctly; see /api/health.');
}

/** Where every dead end offers the way back: oxWebApp's link when configured, else the result URL. */
function returnLink(services: Services): string | undefined {
  return services.settings.oxWebAppLinkUrl ?? services.settings.authResultUrl;
}

async function authorizeStart(request: HttpRequestLike, services: Services, log: Logger): Promise<HttpResult> {
  const outcome = await startAuthorization({ ...services, logger: log }, queryOf(request));
  switch (outcome.kind) {
    case 'refused':
      return launchLinkRefusedPage(outcome.problem, returnLink(services));
    case 'too_many_attempts':
      return tooManyAttemptsPage(returnLink(services));
    case 'unavailable':
      return startUnavailablePage(returnLink(services));
    case 'redirect':
      return redirectBindingBrowser(outcome.location, outcome.browserBinding, request.url);
  }
}

async function appstoreLogin(request: HttpRequestLike, services: Services, log: Logger): Promise<HttpResult> {
  const outcome = await startFromLoginUri({ ...services, logger: log }, queryOf(request));
  switch (outcome.kind) {
    case 'refused':
      return loginRefusedPage(outcome.problem, returnLink(services));
    case 'too_many_attempts':
      return tooManyAttemptsPage(returnLink(services));
    case 'unavailable':
      return startUnavailablePage(returnLink(services));
    case 'start_from_shipica':
      return startFromShipicaPage(returnLink(services), outcome.why);
    case 'identify':
      return redirect(outcome.location);
    case 'redirect':
      return redirectBindingBrowser(outcome.location, outcome.browserBinding, request.url);
  }
}

/** A redirect that also sets the cookie binding this browser to the state it carries. */
function redirectBindingBrowser(location: string, binding: BrowserBinding, requestUrl: string): HttpResult {
  return redirect(location, [
    {
      name: binding.cookieName,
      value: binding.value,
      path: '/api',
      maxAge: binding.maxAgeSeconds,
      httpOnly: true,
      // Browsers drop Secure cookies on plain http, so the local http://localhost host is the one exception.
      secure: !isPlainLocalhost(requestUrl),
      // Lax: the cookie must travel on Amazon's top-level redirect back to the callback.
      sameSite: 'Lax',
    },
  ]);
}

const expiringQuery = z.string().regex(/^\d{1,5}$/).transform(Number).optional();

async function credentialsStatus(request: HttpRequestLike, services: Services): Promise<HttpResult> {
  const query = queryOf(request);
  const expiring = expiringQuery.safeParse(query.get('expiring') ?? undefined);
  const customerId = query.get('customer_id') ?? undefined;
  if (!expiring.success || query.getAll('expiring').length > 1) return jsonError(400, 'invalid_request', 'expiring must be a whole number of days.');
  if ((customerId !== undefined && !isValidCustomerId(customerId)) || query.getAll('customer_id').length > 1) return jsonError(400, 'invalid_request', 'customer_id is not a valid customer id.');
  const rows = await services.store.listCredentialStatus({ customerId, expiringWithinDays: expiring.data }, services.clock.now());
  return jsonResponse(200, { credentials: rows.map(statusJson) });
}

/** Ops JSON: snake_case like the SQL view, ISO dates. */
export function statusJson(row: CredentialStatusRow): Record<string, string | number | boolean | null> {
  const iso = (d: Date | null) => (d === null ? null : d.toISOString());
  return {
    customer_id: row.customerId,
    scope: row.scope,
    region: row.region,
    marketplace: row.marketplace,
    selling_partner_id: row.sellingPartnerId,
    status: row.status,
    auth_requested_date: iso(row.authRequestedDate),
    auth_granted_date: iso(row.authGrantedDate),
    revoked_at: iso(row.revokedAt),
    has_refresh_token: row.hasRefreshToken,
    reauthorize_by: iso(row.reauthorizeBy),
    days_left: row.daysLeft,
    last_error: row.lastError,
    last_attempt_at: iso(row.lastAttemptAt),
    last_attempt_outcome: row.lastAttemptOutcome,
    last_attempt_reason: row.lastAttemptReason,
  };
}

async function lwaCallback(request: HttpRequestLike, services: Services, log: Logger): Promise<HttpResult> {
  const query = queryOf(request);
  const resultUrl = services.settings.authResultUrl;
  const cookieHeader = request.headers.get('cookie');
  const cookies = (name: string) => readCookie(cookieHeader, name);
  // The second leg of post/redirect/get: the page of a sealed outcome, with no state or code in its URL.
  if (resultUrl === undefined && query.has(RESULT_PARAMETER) && !query.has('state') && !query.has('spapi_oauth_code')) {
    return resultPage(query.getAll(RESULT_PARAMETER), services, cookies);
  }
  const outcome = await completeAuthorization({ ...services, logger: log }, parseCallbackQuery(query), cookies);
  if (resultUrl !== undefined) return redirect(resultRedirect(resultUrl, outcome));
  // A path of our own configured redirect URI, never the request's host: 303, so the browser GETs the result and the
  // callback URL (state, code) is replaced in its history. The result is bound to the cookie that bound the state.
  const id = sealResult(outcome, services.settings.launchLinkSecret, services.clock.now().getTime(), callbackBinding(query, cookies));
  return { ...redirect(`${new URL(services.settings.redirectUri).pathname}?${RESULT_PARAMETER}=${id}`), status: 303 };
}

/** The state's binding cookie as this callback request carried it, when it names one state and carries its cookie. */
function callbackBinding(query: URLSearchParams, cookies: (name: string) => string | undefined): ResultBinding | undefined {
  const states = query.getAll('state');
  if (states.length !== 1 || states[0] === undefined) return undefined;
  const name = bindingCookieName(sha256Hex(states[0]));
  const value = cookies(name);
  return value === undefined ? undefined : { name, value };
}

function resultPage(ids: string[], services: Services, cookies: (name: string) => string | undefined): HttpResult {
  const opened = ids.length === 1 && ids[0] !== undefined ? openResult(ids[0], services.settings.launchLinkSecret, services.clock.now().getTime(), cookies) : undefined;
  if (opened === undefined || !opened.ok) return resultUnavailablePage(returnLink(services));
  return callbackPage(opened.outcome, returnLink(services));
}

/** `AUTH_RESULT_URL?status=authorized|error&reason=…&marketplace=…` for oxWebApp to show in its own pages. */
function resultRedirect(base: string, outcome: CallbackOutcome): string {
  const url = new URL(base);
  // An already-used link seen from another browser is not an error: its outcome belongs to the browser that used it.
  url.searchParams.set('status', outcome.kind === 'authorized' ? 'authorized' : outcome.kind === 'already_used' ? 'already_used' : 'error');
  if (outcome.kind !== 'authorized') url.searchParams.set('reason', outcomeReason(outcome));
  if (outcome.marketplace) url.searchParams.set('marketplace', outcome.marketplace);
  return url.toString();
}

const regionQuery = z.enum(REGIONS).optional();
const marketplaceQuery = z.string().regex(/^[A-Za-z]{2}$/).transform((code) => findMarketplace(code.toUpperCase())).optional();
const refreshQuery = z.enum(['true', 'false']).optional();
const customerIdParam = z.string().refine(isValidCustomerId);
const sellingPartnerIdParam = z.string().regex(SELLING_PARTNER_ID_PATTERN);

async function customerAccessToken(request: HttpRequestLike, services: Services, log: Logger): Promise<HttpResult> {
  const customerId = customerIdParam.safeParse(request.params['customerId']);
  if (!customerId.success) return jsonError(400, 'invalid_request', 'customerId must be 1-64 characters without control characters or edge spaces.');
  return accessTokenResponse(request, services, log, (where) => ({ customerId: customerId.data, ...where }));
}

async function sellerAccessToken(request: HttpRequestLike, services: Services, log: Logger): Promise<HttpResult> {
  const sellingPartnerId = sellingPartnerIdParam.safeParse(request.params['sellingPartnerId']);
  if (!sellingPartnerId.success) return jsonError(400, 'invalid_request', 'sellingPartnerId must be 1-64 letters and digits.');
  return accessTokenResponse(request, services, log, (where) => ({ sellingPartnerId: sellingPartnerId.data, ...where }));
}

const ACCESS_TOKEN_STATUS: Record<AccessTokenErrorCode, number> = {
  not_authorized: 404,
  region_required: 400,
  marketplace_required: 400,
  authorization_revoked: 409,
  lwa_client_rejected: 503,
  lwa_unavailable: 503,
  refresh_in_progress: 503,
  credential_unreadable: 500,
};

async function accessTokenResponse(
  request: HttpRequestLike,
  services: Services,
  log: Logger,
  target: (where: { region: Region | undefined; scope: CredentialScope | undefined }) => AccessTokenRequest,
): Promise<HttpResult> {
  const query = queryOf(request);
  const region = regionQuery.safeParse(query.get('region') ?? undefined);
  if (!region.success || query.getAll('region').length > 1) {
    return jsonError(400, 'invalid_request', 'region must be one of NA, EU, FE.');
  }
  // A marketplace names its credential's scope: JP, AU and SG are each their own in the Far East; DE is EU's.
  const marketplace = marketplaceQuery.safeParse(query.get('marketplace') ?? undefined);
  if (!marketplace.success || query.getAll('marketplace').length > 1 || (query.has('marketplace') && marketplace.data === undefined)) {
    return jsonError(400, 'invalid_request', 'marketplace must be a marketplace code such as US, DE, JP, AU or SG.');
  }
  if (marketplace.data !== undefined && region.data !== undefined && marketplace.data.region !== region.data) {
    return jsonError(400, 'invalid_request', `marketplace ${marketplace.data.code} is in ${marketplace.data.region}, not ${region.data}.`);
  }
  const refresh = refreshQuery.safeParse(query.get('refresh') ?? undefined);
  if (!refresh.success || query.getAll('refresh').length > 1) return jsonError(400, 'invalid_request', 'refresh must be true or false.');
  let result: Awaited<ReturnType<typeof services.accessTokens.get>>;
  try {
    result = await services.accessTokens.get({ ...target({ region: region.data, scope: marketplace.data?.scope }), forceRefresh: refresh.data === 'true' });
  } catch (error) {
    // Callers are Shipica's processes: a store outage is a JSON answer they can parse and retry, not an HTML page.
    log.error('access token: store did not answer', { error: describeError(error) });
    return jsonError(503, 'storage_unavailable', 'The credential store did not answer; retry shortly.', { 'Retry-After': '5' });
  }
  if (!result.ok) {
    const headers: Record<string, string> = result.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(result.retryAfterSeconds) };
    return jsonError(ACCESS_TOKEN_STATUS[result.error], result.error, result.message, headers);
  }
  const { token } = result;
  return jsonResponse(200, {
    access_token: token.accessToken,
    token_type: 'bearer',
    expires_at: token.expiresAt.toISOString(),
    customer_id: token.customerId,
    selling_partner_id: token.sellingPartnerId,
    scope: token.scope,
    region: token.region,
  });
}

/** The same health logic under both hosts (health.ts). */
async function health(_request: HttpRequestLike, { app, log }: RouteContext): Promise<HttpResult> {
  return healthResult(app, log);
}

function isPlainLocalhost(requestUrl: string): boolean {
  const url = new URL(requestUrl);
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}
