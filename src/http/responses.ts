import { page, type Html } from './html.js';
import type { HttpResult, ResponseCookie } from './types.js';

/**
 * On every response, from either host (pages, JSON, redirects, 404/405/413, the local host's own 400s): never cached
 * (tokens, state and codes pass through), no referrer (URLs carry state and codes), no MIME sniffing, and a CSP that
 * forbids everything (pages replace it with one allowing their inline style).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
};

/** No scripts, no framing, inline style only. */
const PAGE_HEADERS: Record<string, string> = {
  ...SECURITY_HEADERS,
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
};

/** `result` with every SECURITY_HEADERS entry it lacks (names compared case-insensitively; a result's own value wins). */
export function withSecurityHeaders(result: HttpResult): HttpResult {
  const headers: Record<string, string> = { ...result.headers };
  const present = new Set(Object.keys(headers).map((name) => name.toLowerCase()));
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) if (!present.has(name.toLowerCase())) headers[name] = value;
  return { ...result, headers };
}

export function htmlResponse(status: number, title: string, body: Html, cookies?: ResponseCookie[]): HttpResult {
  return { status, headers: { ...PAGE_HEADERS }, body: page(title, body), ...(cookies ? { cookies } : {}) };
}

export function redirect(location: string, cookies?: ResponseCookie[]): HttpResult {
  return {
    status: 302,
    headers: { ...SECURITY_HEADERS, Location: location },
    ...(cookies ? { cookies } : {}),
  };
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    status,
    headers: { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', ...headers },
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
