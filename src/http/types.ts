/**
 * The slice of an HTTP request and response the handlers use. Azure's HttpRequest satisfies HttpRequestLike, and
 * HttpResult maps one-to-one onto Azure's HttpResponseInit, so the same handlers run under the Functions host and
 * the local host (localHost.ts).
 */
export interface HttpRequestLike {
  readonly method: string;
  /** Absolute URL as the client asked for it. */
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  readonly query: URLSearchParams;
  readonly params: Readonly<Record<string, string>>;
  text(): Promise<string>;
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
