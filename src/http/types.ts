/**
 * The slice of an HTTP request and response the handlers use. Azure's HttpRequest satisfies HttpRequestLike, and
 * HttpResult maps one-to-one onto Azure's HttpResponseInit, so the same handlers run under the Functions host and
 * the local host (localHost.ts).
 *
 * There is deliberately no `query`: the Functions host fills Azure's `request.query` from ASP.NET's query
 * collection, which joins a repeated parameter's values with commas (`code=a&code=b` → `a,b`), so a handler could
 * not see the repetition it must refuse. Handlers read parameters with {@link queryOf}, from the raw URL.
 */
export interface HttpRequestLike {
  readonly method: string;
  /** Absolute URL as the client asked for it, with the raw query string (both hosts keep it as sent). */
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  readonly params: Readonly<Record<string, string>>;
  text(): Promise<string>;
}

/**
 * The request's query parameters parsed from its raw URL: every value of a repeated parameter stays separate
 * (`getAll`), exactly as the client sent them, under the Functions host and the local host alike.
 */
export function queryOf(request: Pick<HttpRequestLike, 'url'>): URLSearchParams {
  return new URL(request.url).searchParams;
}

export interface ResponseCookie {
  name: string;
  value: string;
  path?: string;
  maxAge?: number;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None';
}

export interface HttpResult {
  status: number;
  headers?: Record<string, string>;
  cookies?: ResponseCookie[];
  body?: string;
}

export type AuthLevel = 'anonymous' | 'function' | 'admin';
export type HttpMethod = 'GET' | 'POST';
