import { describeError } from '../authorization/ports.js';
import { html } from './html.js';
import { htmlResponse } from './responses.js';
import type { Route, RouteContext } from './routes.js';
import type { HttpRequestLike, HttpResult } from './types.js';

/** Runs a route's handler; anything it throws becomes a plain 500 page (logged without stack), never a trace. */
export async function invokeRoute(route: Route, request: HttpRequestLike, context: RouteContext): Promise<HttpResult> {
  try {
    return await route.handler(request, context);
  } catch (error) {
    context.log.error('unhandled error', { function: route.name, error: describeError(error) });
    return htmlResponse(500, 'Something went wrong', html`<h1 class="err">Something went wrong</h1><p>Please try again later.</p>`);
  }
}
