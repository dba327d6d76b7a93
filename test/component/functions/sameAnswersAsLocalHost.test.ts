import type { HttpResponseInit } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLaunchLink } from '../../../src/authorization/launchLink.js';
import { consoleLogger } from '../../../src/logging/logging.js';
import { startLocalHost, type RunningHost } from '../../../src/http/localHost.js';
import { serializeCookie } from '../../../src/http/responses.js';
import { routes } from '../../../src/http/routes.js';
import type { ResponseCookie } from '../../../src/http/types.js';
import { hostRequest, registerFunctions, type RegisteredFunctions } from '../../support/functionsHost.js';

/**
 * The functions as the real Functions host runs them. The host fills `request.query` from ASP.NET's query
 * collection, which joins a repeated parameter's values with commas, while `request.url` keeps the raw query
 * string. Every route must answer as it does through the local host, where repetitions are visible.
 */
let f: RegisteredFunctions;
let local: RunningHost;
let origin: string;

beforeAll(async () => {
  f = await registerFunctions();
  local = await startLocalHost({ app: f.app, logger: consoleLogger(() => undefined), port: 0 });
  origin = local.url;
});

afterAll(async () => {
  await local?.close();
  await f?.close();
});

/** What a client can observe of an answer; the random state (and its cookie's name and value) left out. */
interface Answer {
  status: number;
  contentType: string | undefined;
  location: string | undefined;
  cookies: string[];
  body: string;
}

const withoutState = (location: string | undefined): string | undefined => {
  if (location === undefined) return undefined;
  const url = new URL(location);
  url.searchParams.delete('state');
  return url.toString();
};
const anonymousCookie = (line: string) => line.replace(/^spapi_auth_[^=]*=[^;]*/, 'spapi_auth_*=*');

function fromFunctions(response: HttpResponseInit): Answer {
  const headers = new Headers(response.headers as Record<string, string> | undefined);
  return {
    status: response.status ?? 200,
    contentType: headers.get('content-type') ?? undefined,
    location: withoutState(headers.get('location') ?? undefined),
    cookies: ((response.cookies ?? []) as ResponseCookie[]).map((c) => anonymousCookie(serializeCookie(c))),
    body: typeof response.body === 'string' ? response.body : '',
  };
}

async function viaLocalHost(method: string, url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { method, headers, redirect: 'manual' });
  // The callback's post/redirect/get: followed as a browser would (same cookies), so both hosts are compared on the result page.
  const seeOther = response.headers.get('location');
  if (response.status === 303 && seeOther !== null) return viaLocalHost('GET', new URL(seeOther, url).toString(), headers);
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? undefined,
    location: withoutState(response.headers.get('location') ?? undefined),
    cookies: response.headers.getSetCookie().map(anonymousCookie),
    body: await response.text(),
  };
}

async function viaFunctions(name: string, method: string, url: string, init: { headers?: Record<string, string>; params?: Record<string, string> } = {}) {
  const response = await f.invoke(name, hostRequest(method, url, init));
  // The callback's post/redirect/get, followed as a browser would: with the same cookies (the result is bound to them).
  const seeOther = new Headers(response.headers as Record<string, string>).get('location');
  if (response.status === 303 && seeOther !== null) return viaFunctions(name, 'GET', new URL(seeOther, url).toString(), { headers: init.headers ?? {} });
  return response;
}

const launchLink = (customerId: string, marketplace = 'US') =>
  buildLaunchLink(origin, { customerId, marketplace, expires: Math.floor(Date.now() / 1000) + 600 }, f.launchLinkSecret);

/** AuthorizeStart through the registered function: the state it issued and the cookie binding this browser. */
async function startViaFunctions(customerId: string): Promise<{ state: string; cookie: string }> {
  const response = await viaFunctions('AuthorizeStart', 'GET', launchLink(customerId));
  expect(response.status).toBe(302);
  const location = new Headers(response.headers as Record<string, string>).get('location') ?? '';
  const [binding] = (response.cookies ?? []) as ResponseCookie[];
  if (binding === undefined) throw new Error('AuthorizeStart set no cookie');
  return { state: new URL(location).searchParams.get('state') ?? '', cookie: `${binding.name}=${binding.value}` };
}

function callbackUrl(state: string, sellingPartnerId: string, ...codes: string[]): string {
  const url = new URL('/api/lwa-callback', origin);
  url.searchParams.append('state', state);
  url.searchParams.append('selling_partner_id', sellingPartnerId);
  for (const code of codes) url.searchParams.append('spapi_oauth_code', code);
  return url.toString();
}

const issueCode = (sellingPartnerId: string) => f.lwa.sandbox.issueCode({ redirectUri: f.redirectUri, sellingPartnerId });
const reasonOf = (response: HttpResponseInit) => /Reason: <code>([a-z_]+)<\/code>/.exec(String(response.body))?.[1];

describe('repeated query parameters under the Functions host', () => {
  it('refuses a callback with two spapi_oauth_code values as callback_invalid without calling LWA, and its state still completes a correct callback', async () => {
    const { state, cookie } = await startViaFunctions('repeat-code');
    const before = f.lwa.received.length;
    const code = issueCode('A1SANDBOXSELLER1');

    const repeated = await viaFunctions('LWACallback', 'GET', callbackUrl(state, 'A1SANDBOXSELLER1', code, issueCode('A1SANDBOXSELLER1')), { headers: { cookie } });
    expect(repeated.status).toBe(400);
    expect(reasonOf(repeated)).toBe('callback_invalid');
    expect(f.lwa.received.length).toBe(before);

    const correct = await viaFunctions('LWACallback', 'GET', callbackUrl(state, 'A1SANDBOXSELLER1', code), { headers: { cookie } });
    expect(correct.status).toBe(200);
    expect(f.lwa.received.length).toBe(before + 1);
  });

  it('refuses a Login URI request with two amazon_state values with 400 login_request_invalid', async () => {
    const url = `${origin}/api/login?amazon_callback_uri=${encodeURIComponent('https://sellercentral.amazon.com/apps/authorize/confirm/amzn1.sp.solution.x')}&amazon_state=s1&amazon_state=s2&selling_partner_id=A9NEWSELLER`;
    const response = await viaFunctions('AppstoreLogin', 'GET', url);
    expect(response.status).toBe(400);
    expect(reasonOf(response)).toBe('login_request_invalid');
  });

  it('refuses an access-token request with two region values with 400 invalid_request, as the local host does', async () => {
    const url = `${origin}/api/customers/42/access-token?region=NA&region=NA`;
    const response = await viaFunctions('AccessToken', 'POST', url, { params: { customerId: '42' } });
    expect(response.status).toBe(400);
    expect(JSON.parse(String(response.body))).toMatchObject({ error: 'invalid_request' });
    expect(fromFunctions(response)).toEqual(await viaLocalHost('POST', url));
  });

  it('refuses a launch link with a repeated marketplace as link_incomplete, as the local host does', async () => {
    const url = new URL(launchLink('repeat-link'));
    url.searchParams.append('marketplace', 'US');
    const response = await viaFunctions('AuthorizeStart', 'GET', url.toString());
    expect(response.status).toBe(400);
    expect(reasonOf(response)).toBe('link_incomplete');
    expect(fromFunctions(response)).toEqual(await viaLocalHost('GET', url.toString()));
  });

  it('refuses refresh named twice with 400 invalid_request, as the local host does', async () => {
    const url = `${origin}/api/customers/42/access-token?region=NA&refresh=true&refresh=true`;
    const response = await viaFunctions('AccessToken', 'POST', url, { params: { customerId: '42' } });
    expect(response.status).toBe(400);
    expect(JSON.parse(String(response.body))).toMatchObject({ error: 'invalid_request' });
    expect(fromFunctions(response)).toEqual(await viaLocalHost('POST', url));
  });

  it('refuses an ops listing with customer_id named twice with 400 invalid_request', async () => {
    const response = await viaFunctions('CredentialsStatus', 'GET', `${origin}/api/credentials?customer_id=42&customer_id=43`);
    expect(response.status).toBe(400);
    expect(JSON.parse(String(response.body))).toMatchObject({ error: 'invalid_request' });
  });
});

describe('single-valued requests under the Functions host', () => {
  beforeAll(async () => {
    await f.authorize('token-customer', 'A2SANDBOXSELLER2');
  });

  /** One request per registered route, each answered through the registered function and then the local host. */
  const cases: Record<string, () => { method: string; url: string; params?: Record<string, string>; headers?: Record<string, string> }> = {
    AuthorizeStart: () => ({ method: 'GET', url: launchLink('single-start', 'DE') }),
    LWACallback: () => ({ method: 'GET', url: callbackUrl('x'.repeat(43), 'A1SANDBOXSELLER1', 'ANunknowncode') }),
    Health: () => ({ method: 'GET', url: `${origin}/api/health` }),
    AppstoreLogin: () => ({
      method: 'GET',
      url: `${origin}/api/login?amazon_callback_uri=${encodeURIComponent('https://sellercentral.amazon.com/apps/authorize/confirm/amzn1.sp.solution.x')}&amazon_state=s1&selling_partner_id=A9NEWSELLER&version=beta`,
    }),
    CredentialsStatus: () => ({ method: 'GET', url: `${origin}/api/credentials?customer_id=token-customer&expiring=400` }),
    AccessToken: () => ({ method: 'POST', url: `${origin}/api/customers/token-customer/access-token?region=NA`, params: { customerId: 'token-customer' } }),
    SellerAccessToken: () => ({ method: 'POST', url: `${origin}/api/sellers/A2SANDBOXSELLER2/access-token?region=NA`, params: { sellingPartnerId: 'A2SANDBOXSELLER2' } }),
  };

  it('has a case for every registered function and every route', () => {
    expect([...f.functions.keys()].sort()).toEqual(Object.keys(cases).sort());
    expect(routes.map((r) => r.name).sort()).toEqual(Object.keys(cases).sort());
  });

  it.each(Object.keys(cases))('%s answers as through the local host', async (name) => {
    const request = cases[name]?.();
    if (request === undefined) throw new Error(`no case for ${name}`);
    const viaAzure = fromFunctions(await viaFunctions(name, request.method, request.url, { params: request.params, headers: request.headers }));
    const viaLocal = await viaLocalHost(request.method, request.url, request.headers);
    expect(viaAzure.status).toBeLessThan(500);
    expect(viaAzure).toEqual(viaLocal);
  });

  it('completes a callback through the registered function with the same page the local host shows', async () => {
    const viaAzure = await startViaFunctions('same-page');
    const azurePage = await viaFunctions('LWACallback', 'GET', callbackUrl(viaAzure.state, 'A3SANDBOXSELLER3', issueCode('A3SANDBOXSELLER3')), { headers: { cookie: viaAzure.cookie } });
    // The same customer and seller again, this time the callback through the local host: a re-authorization.
    const again = await startViaFunctions('same-page');
    const localPage = await viaLocalHost('GET', callbackUrl(again.state, 'A3SANDBOXSELLER3', issueCode('A3SANDBOXSELLER3')), { cookie: again.cookie });
    expect(azurePage.status).toBe(200);
    expect(fromFunctions(azurePage)).toEqual(localPage);
  });
});
