import { completeAuthorization, parseCallbackQuery } from '../authorization/completeAuthorization.js';
import type { CallbackOutcome } from '../authorization/outcomes.js';
import type { Logger } from '../authorization/ports.js';
import { describeError } from '../authorization/ports.js';
import { startAuthorization } from '../authorization/startAuthorization.js';
import { isLoopbackHost } from '../config/settings.js';
import type { App, Services } from '../app.js';
import { callbackPage, launchLinkRefusedPage, notConfiguredPage, startUnavailablePage } from './authorizationPages.js';
import { jsonResponse, readCookie, redirect } from './responses.js';
import type { AuthLevel, HttpMethod, HttpRequestLike, HttpResult } from './types.js';

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
  { name: 'AuthorizeStart', methods: ['GET'], route: 'authorize', authLevel: 'anonymous', handler: withServices(authorizeStart) },
  { name: 'LWACallback', methods: ['GET'], route: 'lwa-callback', authLevel: 'anonymous', handler: withServices(lwaCallback) },
  { name: 'Health', methods: ['GET'], route: 'health', authLevel: 'anonymous', handler: health },
];

type ServiceHandler = (request: HttpRequestLike, services: Services, log: Logger) => Promise<HttpResult>;

/** Handlers that need a configured app get a 503 page, with the reason logged, when settings or the store are not right. */
function withServices(handler: ServiceHandler): Route['handler'] {
  return async (request, { app, log }) => {
    const state = await app.state();
    if (!state.ok) {
      log.error('service is not configured', { problems: state.problems.join(' | ') });
      return notConfiguredPage();
    }
    return handler(request, state.services, log);
  };
}

async function authorizeStart(request: HttpRequestLike, services: Services, log: Logger): Promise<HttpResult> {
  const outcome = await startAuthorization({ ...services, logger: log }, request.query);
  switch (outcome.kind) {
    case 'refused':
      return launchLinkRefusedPage(outcome.problem);
    case 'unavailable':
      return startUnavailablePage();
    case 'redirect': {
      const { cookieName, value, maxAgeSeconds } = outcome.browserBinding;
      return redirect(outcome.consentUrl, [
        {
          name: cookieName,
          value,
          path: '/api',
          maxAge: maxAgeSeconds,
          httpOnly: true,
          // Browsers drop Secure cookies on plain http, so the local http://localhost host is the one exception.
          secure: !isPlainLocalhost(request.url),
          // Lax: the cookie must travel on Amazon's top-level redirect back to the callback.
          sameSite: 'Lax',
        },
      ]);
    }
  }
}

async function lwaCallback(request: HttpRequestLike, services: Services, log: Logger): Promise<HttpResult> {
  const cookieHeader = request.headers.get('cookie');
  const outcome = await completeAuthorization(
    { ...services, logger: log },
    parseCallbackQuery(request.query),
    (name) => readCookie(cookieHeader, name),
  );
  const resultUrl = services.settings.authResultUrl;
  return resultUrl === undefined ? callbackPage(outcome) : redirect(resultRedirect(resultUrl, outcome));
}

/** `AUTH_RESULT_URL?status=authorized|error&reason=…&marketplace=…` for oxWebApp to show in its own pages. */
function resultRedirect(base: string, outcome: CallbackOutcome): string {
  const url = new URL(base);
  url.searchParams.set('status', outcome.kind === 'authorized' ? 'authorized' : 'error');
  if (outcome.kind !== 'authorized') url.searchParams.set('reason', outcome.kind === 'in_progress' ? 'in_progress' : outcome.reason);
  if (outcome.marketplace) url.searchParams.set('marketplace', outcome.marketplace);
  return url.toString();
}

async function health(_request: HttpRequestLike, { app, log }: RouteContext): Promise<HttpResult> {
  const state = await app.state();
  if (!state.ok) return jsonResponse(503, { status: 'error', problems: state.problems });
  try {
    await state.services.store.ping();
  } catch (error) {
    log.error('health: store did not answer', { error: describeError(error) });
    return jsonResponse(503, { status: 'error', problems: ['store did not answer.'] });
  }
  return jsonResponse(200, { status: 'ok' });
}

function isPlainLocalhost(requestUrl: string): boolean {
  const url = new URL(requestUrl);
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}
