import { describeError } from '../credentials/index.js';
import { html } from './html.js';
import { htmlResponse, withSecurityHeaders } from './responses.js';
import type { Route, RouteContext } from './routes.js';
import type { HttpRequestLike, HttpResult } from './types.js';

/**
 * Runs a route's handler, under either host; anything it throws becomes a plain 500 page (logged without stack),
 * never a trace. Every result carries SECURITY_HEADERS, whichever helper built it.
 */
export async function invokeRoute(route: Route, request: HttpRequestLike, context: RouteContext): Promise<HttpResult> {
  return withSecurityHeaders(await runHandler(route, request, context));
}

async function runHandler(route: Route, request: HttpRequestLike, context: RouteContext): Promise<HttpResult> {
  try {
    return await route.handler(request, context);
  } catch (error) {
    context.log.error('unhandled error', { function: route.name, error: describeError(error) });
    return htmlResponse(500, 'Something went wrong', html`<h1 class="err">Something went wrong</h1><p>Please try again later.</p>`);
  }
}
