import { page, type Html } from './html.js';
import type { HttpResult, ResponseCookie } from './types.js';

/** No scripts, no framing, no referrer (the consent URL and callback carry state and codes), never cached. */
const PAGE_HEADERS: Record<string, string> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
};

export function htmlResponse(status: number, title: string, body: Html, cookies?: ResponseCookie[]): HttpResult {
  return { status, headers: { ...PAGE_HEADERS }, body: page(title, body), ...(cookies ? { cookies } : {}) };
}

export function redirect(location: string, cookies?: ResponseCookie[]): HttpResult {
  return {
    status: 302,
    headers: { Location: location, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' },
    ...(cookies ? { cookies } : {}),
  };
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

export function jsonError(status: number, error: string, message: string, headers: Record<string, string> = {}): HttpResult {
  return jsonResponse(status, { error, message }, headers);
}

/** Reads one cookie from a Cookie request header. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (header === null) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Set-Cookie value, formatted the way the Functions host formats HttpResponseInit cookies. */
export function serializeCookie(cookie: ResponseCookie): string {
  const parts = [`${cookie.name}=${cookie.value}`];
  if (cookie.maxAge !== undefined) parts.push(`max-age=${cookie.maxAge}`);
  if (cookie.path !== undefined) parts.push(`path=${cookie.path}`);
  if (cookie.secure) parts.push('secure');
  if (cookie.sameSite !== undefined) parts.push(`samesite=${cookie.sameSite.toLowerCase()}`);
  if (cookie.httpOnly) parts.push('httponly');
  return parts.join('; ');
}
