import { describe, expect, it } from 'vitest';
import { Html, escapeHtml, html, page } from '../../../src/http/html.js';
import { htmlResponse, jsonError, jsonResponse, readCookie, redirect, SECURITY_HEADERS, serializeCookie } from '../../../src/http/responses.js';

describe('escapeHtml and html``', () => {
  it('escapes the five HTML metacharacters', () => {
    expect(escapeHtml(`<script>&"'`)).toBe('&lt;script&gt;&amp;&quot;&#39;');
    expect(escapeHtml('&amp;')).toBe('&amp;amp;');
    expect(escapeHtml('plain text 123')).toBe('plain text 123');
  });

  it('escapes interpolations but not nested Html', () => {
    const user = `<img src=x onerror="alert('x')">`;
    const inner = html`<b>${user}</b>`;
    expect(inner).toBeInstanceOf(Html);
    expect(inner.value).toBe('<b>&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;</b>');
    const outer = html`<p title="${'a"b'}">${inner} & ${42}</p>`;
    expect(outer.value).toBe('<p title="a&quot;b"><b>&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;</b> & 42</p>');
    expect(String(outer)).toBe(outer.value);
  });

  it('renders arrays of Html, null and undefined', () => {
    const items = ['<a>', 'b&'].map((v) => html`<li>${v}</li>`);
    expect(html`<ul>${items}</ul>${null}${undefined}`.value).toBe('<ul><li>&lt;a&gt;</li><li>b&amp;</li></ul>');
  });

  it('a plain object with a value field is not trusted as Html', () => {
    const fake = { value: '<script>' } as unknown as string;
    expect(html`${fake}`.value).toBe('[object Object]');
  });

  it('page escapes the title and has no script', () => {
    const out = page('<x>', html`<p>hi</p>`);
    expect(out).toContain('<title>&lt;x&gt;</title>');
    expect(out).toContain('<body><p>hi</p></body>');
    expect(out).toContain('<meta name="referrer" content="no-referrer">');
    expect(out.toLowerCase()).not.toContain('<script');
  });
});

describe('cookies', () => {
  it('readCookie finds a cookie among several, with spaces', () => {
    const header = ' a=1;  spapi_auth_0123456789abcdef = v-_123 ; other=x=y;last=';
    expect(readCookie(header, 'a')).toBe('1');
    expect(readCookie(header, 'spapi_auth_0123456789abcdef')).toBe('v-_123');
    expect(readCookie(header, 'other')).toBe('x=y');
    expect(readCookie(header, 'last')).toBe('');
    expect(readCookie(header, 'missing')).toBeUndefined();
    expect(readCookie(header, 'spapi_auth')).toBeUndefined();
    expect(readCookie(null, 'a')).toBeUndefined();
    expect(readCookie('', 'a')).toBeUndefined();
    expect(readCookie('=x; a=2', 'a')).toBe('2');
  });

  it('readCookie returns the first of duplicate names', () => {
    expect(readCookie('n=first; n=second', 'n')).toBe('first');
  });

  it('serializeCookie formats attributes like the Functions host', () => {
    expect(serializeCookie({ name: 'n', value: 'v', path: '/api', maxAge: 600, secure: true, httpOnly: true, sameSite: 'Lax' })).toBe(
      'n=v; max-age=600; path=/api; secure; samesite=lax; httponly',
    );
    expect(serializeCookie({ name: 'n', value: '', maxAge: 0 })).toBe('n=; max-age=0');
    expect(serializeCookie({ name: 'n', value: 'v', secure: false, httpOnly: false, sameSite: 'Strict' })).toBe('n=v; samesite=strict');
  });
});

describe('responses', () => {
  it('htmlResponse sets no-referrer, no-store and a CSP without script-src', () => {
    const result = htmlResponse(200, 'Done', html`<p>${'<ok>'}</p>`);
    expect(result.status).toBe(200);
    const headers = result.headers ?? {};
    expect(headers['Referrer-Policy']).toBe('no-referrer');
    expect(headers['Cache-Control']).toBe('no-store');
    expect(headers['Content-Type']).toBe('text/html; charset=utf-8');
    expect(headers['X-Content-Type-Options']).toBe('nosniff');
    const csp = headers['Content-Security-Policy'] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('script-src');
    expect(csp).not.toContain('unsafe-eval');
    expect(result.body).toContain('<p>&lt;ok&gt;</p>');
    expect(result).not.toHaveProperty('cookies');
  });

  it('htmlResponse headers are a fresh copy each time', () => {
    const a = htmlResponse(200, 't', html``);
    (a.headers ?? {})['Cache-Control'] = 'public';
    expect(htmlResponse(200, 't', html``).headers?.['Cache-Control']).toBe('no-store');
  });

  it('htmlResponse carries cookies when given', () => {
    const cookies = [{ name: 'n', value: 'v', path: '/api' }];
    expect(htmlResponse(400, 't', html``, cookies).cookies).toEqual(cookies);
  });

  it('redirect and JSON responses carry the security headers (never cached, no referrer, no sniffing, no content allowed)', () => {
    expect(redirect('https://sellercentral.amazon.com/apps/authorize/consent?x=1')).toEqual({
      status: 302,
      headers: { ...SECURITY_HEADERS, Location: 'https://sellercentral.amazon.com/apps/authorize/consent?x=1' },
    });
    expect(jsonError(404, 'not_found', 'Nothing here')).toEqual({
      status: 404,
      headers: { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8' },
      body: '{"error":"not_found","message":"Nothing here"}',
    });
    expect(jsonResponse(200, { a: 1 }, { 'Retry-After': '5' }).headers).toEqual({
      ...SECURITY_HEADERS,
      'Content-Type': 'application/json; charset=utf-8',
      'Retry-After': '5',
    });
    expect(SECURITY_HEADERS).toMatchObject({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'X-Content-Type-Options': 'nosniff' });
  });
});
