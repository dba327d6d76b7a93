import { describe, expect, it } from 'vitest';
import { CODE_LIFETIME_MS, SandboxLwa } from '../../../src/sandbox/sandboxLwa.js';

const CLIENT_ID = 'amzn1.application-oa2-client.sandbox';
const CLIENT_SECRET = 'sandbox-client-secret-0123456789';
const REDIRECT = 'http://localhost:7071/api/callback';
const SELLER = 'A3FHEXAMPLEYWS';
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function setup() {
  const clock = { t: T0, now: () => new Date(clock.t) };
  const lwa = new SandboxLwa({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, clock });
  return { clock, lwa };
}

function codeForm(code: string, overrides: Record<string, string | null> = {}): URLSearchParams {
  return form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, ...overrides });
}

function refreshForm(refreshToken: string, overrides: Record<string, string | null> = {}): URLSearchParams {
  return form({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, ...overrides });
}

function form(fields: Record<string, string | null>): URLSearchParams {
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) if (v !== null) out.append(k, v);
  return out;
}

const INVALID_CODE = { error: 'invalid_grant', error_description: 'The request has an invalid grant parameter : code' };

function refreshTokenFrom(lwa: SandboxLwa, seller = SELLER): string {
  const code = lwa.issueCode({ redirectUri: REDIRECT, sellingPartnerId: seller });
  const answer = lwa.handleTokenRequest(codeForm(code));
  expect(answer.status).toBe(200);
  const token = answer.body['refresh_token'];
  if (typeof token !== 'string') throw new Error('no refresh token');
  return token;
}

describe('SandboxLwa authorization_code grant', () => {
  it('an issued code exchanges once for LWA-shaped tokens', () => {
    const { lwa } = setup();
    const code = lwa.issueCode({ redirectUri: REDIRECT, sellingPartnerId: SELLER });
    expect(code).toMatch(/^AN[A-Za-z0-9_-]{20}$/);
    const answer = lwa.handleTokenRequest(codeForm(code));
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type']);
    expect(answer.body['access_token']).toMatch(/^Atza\|[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(answer.body['refresh_token']).toMatch(/^Atzr\|[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(answer.body['token_type']).toBe('bearer');
    expect(answer.body['expires_in']).toBe(3600);
    expect(String(answer.body['access_token']).length).toBeLessThanOrEqual(2048);
    expect(String(answer.body['refresh_token']).length).toBeLessThanOrEqual(2048);

    expect(lwa.handleTokenRequest(codeForm(code))).toEqual({ status: 400, body: INVALID_CODE });
  });

  it('an unknown code → invalid_grant', () => {
    const { lwa } = setup();
    expect(lwa.handleTokenRequest(codeForm('ANnot-issued'))).toEqual({ status: 400, body: INVALID_CODE });
  });

  it('a code expires after 5 minutes', () => {
    expect(CODE_LIFETIME_MS).toBe(300_000);
    const { lwa, clock } = setup();
    const fresh = lwa.issueCode({ redirectUri: REDIRECT, sellingPartnerId: SELLER });
    const stale = lwa.issueCode({ redirectUri: REDIRECT, sellingPartnerId: SELLER });
    clock.t = T0 + CODE_LIFETIME_MS - 1;
    expect(lwa.handleTokenRequest(codeForm(fresh)).status).toBe(200);
    clock.t = T0 + CODE_LIFETIME_MS;
    expect(lwa.handleTokenRequest(codeForm(stale))).toEqual({ status: 400, body: INVALID_CODE });
  });

  it('a code exchanged later than 5 minutes → invalid_grant', () => {
    const { lwa, clock } = setup();
    const code = lwa.issueCode({ redirectUri: REDIRECT, sellingPartnerId: SELLER });
    clock.t = T0 + 5 * 60 * 1000 + 1;
    expect(lwa.handleTokenRequest(codeForm(code))).toEqual({ status: 400, body: INVALID_CODE });
  });

  it('a wrong redirect_uri → invalid_grant, and the code is spent', () => {
    const { lwa } = setup();
    const code = lwa.issueCode({ redirectUri: REDIRECT, sellingPartnerId: SELLER });
    expect(lwa.handleTokenRequest(codeForm(code, { redirect_uri: `${REDIRECT}/other` }))).toEqual({ status: 400, body: INVALID_CODE });
    expect(lwa.handleTokenRequest(codeForm(code))).toEqual({ status: 400, body: INVALID_CODE });
  });

  it('a missing code or redirect_uri → invalid_request', () => {
    const { lwa } = setup();
    expect(lwa.handleTokenRequest(codeForm('x', { code: null })).body['error']).toBe('invalid_request');
    expect(lwa.handleTokenRequest(codeForm('x', { redirect_uri: null })).body['error']).toBe('invalid_request');
  });
});

describe('SandboxLwa client authentication and grant types', () => {
  it('a wrong client secret → 401 invalid_client (the code survives)', () => {
    const { lwa } = setup();
    const code = lwa.issueCode({ redirectUri: REDIRECT, sellingPartnerId: SELLER });
    expect(lwa.handleTokenRequest(codeForm(code, { client_secret: `${CLIENT_SECRET}x` }))).toEqual({
      status: 401,
      body: { error: 'invalid_client', error_description: 'Client authentication failed' },
    });
    expect(lwa.handleTokenRequest(codeForm(code, { client_secret: 'short' })).status).toBe(401);
    expect(lwa.handleTokenRequest(codeForm(code)).status).toBe(200);
  });

  it('a wrong client id → 401 invalid_client', () => {
    const { lwa } = setup();
    const code = lwa.issueCode({ redirectUri: REDIRECT, sellingPartnerId: SELLER });
    expect(lwa.handleTokenRequest(codeForm(code, { client_id: 'amzn1.application-oa2-client.other' }))).toEqual({
      status: 401,
      body: { error: 'invalid_client', error_description: 'Client authentication failed' },
    });
  });

  it('missing client credentials → 400 invalid_request', () => {
    const { lwa } = setup();
    expect(lwa.handleTokenRequest(codeForm('x', { client_secret: null })).status).toBe(400);
    expect(lwa.handleTokenRequest(codeForm('x', { client_id: null })).body['error']).toBe('invalid_request');
  });

  it('missing grant_type → invalid_request', () => {
    const { lwa } = setup();
    expect(lwa.handleTokenRequest(form({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET }))).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'The request is missing a required parameter : grant_type' },
    });
  });

  it('an unknown grant → unsupported_grant_type', () => {
    const { lwa } = setup();
    const answer = lwa.handleTokenRequest(form({ grant_type: 'password', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }));
    expect(answer.status).toBe(400);
    expect(answer.body['error']).toBe('unsupported_grant_type');
  });
});

describe('SandboxLwa refresh_token grant and revocation', () => {
  it('an issued refresh token refreshes (repeatedly), without a new refresh token', () => {
    const { lwa } = setup();
    const token = refreshTokenFrom(lwa);
    for (let i = 0; i < 2; i++) {
      const answer = lwa.handleTokenRequest(refreshForm(token));
      expect(answer.status).toBe(200);
      expect(Object.keys(answer.body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
      expect(answer.body['access_token']).toMatch(/^Atza\|/);
      expect(answer.body['token_type']).toBe('bearer');
      expect(answer.body['expires_in']).toBe(3600);
    }
  });

  it('a tampered refresh token → invalid_grant mentioning revoked', () => {
    const { lwa } = setup();
    const token = refreshTokenFrom(lwa);
    const lastChar = token.at(-1) === 'A' ? 'B' : 'A';
    const tampered = [token.slice(0, -1) + lastChar, token.replace('Atzr|', 'Atzr|x'), `${token}x`, 'Atzr|nope', ''];
    for (const bad of tampered) {
      const answer = lwa.handleTokenRequest(refreshForm(bad));
      expect(answer.status, bad.slice(0, 20)).toBe(400);
      expect(answer.body['error']).toBe('invalid_grant');
      expect(String(answer.body['error_description'])).toContain('revoked');
    }
  });

  it('a refresh token from another sandbox (other client secret) → invalid_grant', () => {
    const otherSecret = 'a-different-sandbox-secret-000000';
    const other = new SandboxLwa({ clientId: CLIENT_ID, clientSecret: otherSecret, clock: { now: () => new Date(T0) } });
    const code = other.issueCode({ redirectUri: REDIRECT, sellingPartnerId: SELLER });
    const issued = other.handleTokenRequest(codeForm(code, { client_secret: otherSecret }));
    expect(issued.status).toBe(200);
    const foreign = String(issued.body['refresh_token']);
    expect(other.handleTokenRequest(refreshForm(foreign, { client_secret: otherSecret })).status).toBe(200);
    const { lwa } = setup();
    expect(lwa.handleTokenRequest(refreshForm(foreign)).body['error']).toBe('invalid_grant');
  });

  it('after revokeSeller the seller’s tokens fail; other sellers are untouched; a token issued later works', () => {
    const { lwa, clock } = setup();
    const before = refreshTokenFrom(lwa, SELLER);
    const otherSeller = refreshTokenFrom(lwa, 'A1OTHERSELLER');
    clock.t += 1000;
    lwa.revokeSeller(SELLER);
    const revoked = lwa.handleTokenRequest(refreshForm(before));
    expect(revoked.status).toBe(400);
    expect(revoked.body['error']).toBe('invalid_grant');
    expect(String(revoked.body['error_description'])).toContain('revoked');
    expect(lwa.handleTokenRequest(refreshForm(otherSeller)).status).toBe(200);

    clock.t += 1000;
    const after = refreshTokenFrom(lwa, SELLER);
    expect(lwa.handleTokenRequest(refreshForm(after)).status).toBe(200);
    expect(lwa.handleTokenRequest(refreshForm(before)).status).toBe(400);
  });

  it('a token issued after revokeSeller works even within the same millisecond', () => {
    // The seller re-authorizes right after removing the app; with a clock that has not moved (fast tests on the
    // real clock) the new token must still work: "issued before the revocation" is about order, not timestamps.
    const { lwa } = setup();
    const before = refreshTokenFrom(lwa, SELLER);
    lwa.revokeSeller(SELLER);
    const after = refreshTokenFrom(lwa, SELLER);
    expect(lwa.handleTokenRequest(refreshForm(before)).status).toBe(400);
    expect(lwa.handleTokenRequest(refreshForm(after)).status).toBe(200);
  });

  it('missing refresh_token → invalid_request', () => {
    const { lwa } = setup();
    expect(lwa.handleTokenRequest(refreshForm('x', { refresh_token: null })).body['error']).toBe('invalid_request');
  });
});

describe('SandboxLwa request counters', () => {
  it('counts every token request by grant type, answered or refused', () => {
    const { lwa } = setup();
    expect(lwa.requests).toEqual({ authorization_code: 0, refresh_token: 0, other: 0 });
    const token = refreshTokenFrom(lwa); // 1 authorization_code
    lwa.handleTokenRequest(codeForm('ANbad')); // 2 authorization_code
    lwa.handleTokenRequest(codeForm('ANbad', { client_secret: 'wrong' })); // 3 authorization_code (401)
    lwa.handleTokenRequest(refreshForm(token)); // 1 refresh_token
    lwa.handleTokenRequest(refreshForm('Atzr|bad')); // 2 refresh_token
    lwa.handleTokenRequest(form({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET })); // 1 other
    lwa.handleTokenRequest(form({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET })); // 2 other
    expect(lwa.requests).toEqual({ authorization_code: 3, refresh_token: 2, other: 2 });
  });
});

describe('SandboxLwa access tokens, as the sandbox SP-API reads them', () => {
  it('names the seller of an access token from a refresh, until the token expires', () => {
    const { clock, lwa } = setup();
    const answer = lwa.handleTokenRequest(refreshForm(refreshTokenFrom(lwa)));
    const token = String(answer.body['access_token']);
    expect(lwa.sellerOfAccessToken(token)).toBe(SELLER);
    clock.t += 3600_000;
    expect(lwa.sellerOfAccessToken(token)).toBeUndefined();
  });

  it('names no seller for an access token it did not sign', () => {
    const { lwa } = setup();
    const token = String(lwa.handleTokenRequest(refreshForm(refreshTokenFrom(lwa))).body['access_token']);
    const forged = `${token.slice(0, -3)}${token.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    expect(lwa.sellerOfAccessToken(forged)).toBeUndefined();
    expect(lwa.sellerOfAccessToken('Atza|plain')).toBeUndefined();
  });

  it('self-authorizes a private app: the refresh token it shows refreshes like any other', () => {
    const { lwa } = setup();
    const answer = lwa.handleTokenRequest(refreshForm(lwa.selfAuthorize(SELLER)));
    expect(answer.status).toBe(200);
    expect(lwa.sellerOfAccessToken(String(answer.body['access_token']))).toBe(SELLER);
  });
});
