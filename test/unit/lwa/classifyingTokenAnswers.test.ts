import { describe, expect, it } from 'vitest';
import {
  classifyTokenResponse,
  classifyTransportFailure,
  MAX_REFRESH_TOKEN_LENGTH,
  parseRetryAfter,
  type TokenHttpResponse,
} from '../../../src/lwa/tokenResponse.js';

const CLIENT_SECRET = 'amzn1.oa2-cs.v1.s3cr3t|with|pipes&and=equals+plus';
const CODE = 'ANcode|RgQ0fXYZ+/=';
/** What the client scrubs from a code exchange's answer: the code it sent and its client secrets. */
const SENT = [CODE, CLIENT_SECRET];
const NOW = new Date('2026-03-01T12:00:00.000Z');

const GRANT = { access_token: 'Atza|access-token-value', token_type: 'bearer', expires_in: 3600, refresh_token: 'Atzr|new-refresh-token' };
const ACCESS = { access_token: 'Atza|access-token-value', token_type: 'bearer', expires_in: 3600 };

/** An answer in memory, as the loopback server would send it (a string body goes as it is). */
function respond(status: number, body: unknown, headers: Omit<TokenHttpResponse, 'status' | 'body'> = {}): TokenHttpResponse {
  return { status, body: typeof body === 'string' ? body : JSON.stringify(body), ...headers };
}

const classify = (response: TokenHttpResponse) => classifyTokenResponse(response, SENT, NOW);

describe('classifyTokenResponse: a 200', () => {
  it('with a token body is the grant, token_type lower-cased', () => {
    expect(classify(respond(200, { ...GRANT, token_type: 'Bearer' }))).toEqual({
      ok: true,
      value: { accessToken: 'Atza|access-token-value', tokenType: 'bearer', expiresIn: 3600, refreshToken: 'Atzr|new-refresh-token' },
    });
  });

  it('without a refresh_token is a grant without one (the code exchange refuses it, the refresh grant needs none)', () => {
    expect(classify(respond(200, ACCESS))).toEqual({ ok: true, value: { accessToken: 'Atza|access-token-value', tokenType: 'bearer', expiresIn: 3600 } });
  });

  it('expires_in as a numeric string ("3600") is accepted as 3600 seconds, with its refresh token', () => {
    expect(classify(respond(200, { ...GRANT, expires_in: '3600' }))).toEqual({
      ok: true,
      value: { accessToken: GRANT.access_token, tokenType: 'bearer', expiresIn: 3600, refreshToken: GRANT.refresh_token },
    });
  });

  it.each([
    ['malformed JSON', '{"access_token": "Atza|x", '],
    ['missing access_token', JSON.stringify({ token_type: 'bearer', expires_in: 3600, refresh_token: 'Atzr|x' })],
    ['token_type not bearer', JSON.stringify({ ...GRANT, token_type: 'mac' })],
    ['expires_in not a number', JSON.stringify({ ...GRANT, expires_in: 'soon' })],
    ['expires_in a fractional string', JSON.stringify({ ...GRANT, expires_in: '3600.5' })],
    ['expires_in a negative string', JSON.stringify({ ...GRANT, expires_in: '-3600' })],
    ['expires_in "0"', JSON.stringify({ ...GRANT, expires_in: '0' })],
    ['empty body', ''],
  ])('with %s → unavailable, not retried', (_label, body) => {
    expect(classify(respond(200, body))).toEqual({
      ok: false,
      failure: { kind: 'unavailable', status: undefined, error: undefined, description: 'malformed token response' },
      retryable: false,
    });
  });
});

describe('classifyTokenResponse: the refresh token bound is what the store can hold', () => {
  const token = (length: number): string => `Atzr|${'x'.repeat(length - 5)}`;

  it('accepts the longest refresh token whose envelope fits the store column', () => {
    const answer = classify(respond(200, { ...GRANT, refresh_token: token(MAX_REFRESH_TOKEN_LENGTH) }));
    expect(answer.ok && answer.value.refreshToken).toBe(token(MAX_REFRESH_TOKEN_LENGTH));
  });

  it.each([
    ['one character longer', token(MAX_REFRESH_TOKEN_LENGTH + 1)],
    ['with a space', 'Atzr|two words'],
    ['with a non-ASCII character', 'Atzr|caf\u00e9'],
    ['with a control character', 'Atzr|x\u0001'],
  ])('refuses a refresh token %s as a malformed response, not retried', (_label, refreshToken) => {
    expect(classify(respond(200, { ...GRANT, refresh_token: refreshToken }))).toMatchObject({
      ok: false,
      failure: { kind: 'unavailable', description: 'malformed token response' },
      retryable: false,
    });
  });
});

describe('classifyTokenResponse: an error answer', () => {
  it('400 invalid_grant on refresh (revoked) → invalid_grant, not retried', () => {
    const description = "The request has an invalid grant parameter : refresh_token. User may have revoked or didn't grant the permission.";
    expect(classify(respond(400, { error: 'invalid_grant', error_description: description }))).toEqual({
      ok: false,
      failure: { kind: 'invalid_grant', status: 400, error: 'invalid_grant', description },
      retryable: false,
    });
  });

  it('401 invalid_client → invalid_client, not retried', () => {
    expect(classify(respond(401, { error: 'invalid_client', error_description: 'Client authentication failed' }))).toEqual({
      ok: false,
      failure: { kind: 'invalid_client', status: 401, error: 'invalid_client', description: 'Client authentication failed' },
      retryable: false,
    });
  });

  it('400 unauthorized_client → invalid_client', () => {
    expect(classify(respond(400, { error: 'unauthorized_client', error_description: 'Not authorized' }))).toMatchObject({
      ok: false,
      failure: { kind: 'invalid_client', status: 400 },
      retryable: false,
    });
  });

  it('401 without a body → invalid_client', () => {
    expect(classify(respond(401, ''))).toEqual({
      ok: false,
      failure: { kind: 'invalid_client', status: 401, error: undefined, description: undefined },
      retryable: false,
    });
  });

  it('400 invalid_request → client_error, not retried', () => {
    expect(classify(respond(400, { error: 'invalid_request', error_description: 'The request is missing a required parameter' }))).toEqual({
      ok: false,
      failure: { kind: 'client_error', status: 400, error: 'invalid_request', description: 'The request is missing a required parameter' },
      retryable: false,
    });
  });

  it('500 with a body that is not JSON → unavailable, retryable, nothing of the body kept', () => {
    expect(classify(respond(500, 'not json'))).toEqual({
      ok: false,
      failure: { kind: 'unavailable', status: 500, error: undefined, description: undefined },
      retryable: true,
    });
  });

  it('503 with Amazon\'s error → unavailable, retryable, with its error', () => {
    expect(classify(respond(503, { error: 'temporarily_unavailable', error_description: 'try later' }))).toEqual({
      ok: false,
      failure: { kind: 'unavailable', status: 503, error: 'temporarily_unavailable', description: 'try later' },
      retryable: true,
    });
  });

  it('429 with Retry-After → unavailable, retryable, with the wait in ms and in whole seconds', () => {
    expect(classify(respond(429, { error: 'too_many_requests' }, { retryAfter: '3' }))).toEqual({
      ok: false,
      failure: { kind: 'unavailable', status: 429, error: 'too_many_requests', description: undefined, retryAfterSeconds: 3 },
      retryable: true,
      retryAfterMs: 3000,
    });
  });

  it('503 with an HTTP-date Retry-After is measured against the response Date', () => {
    const answer = classify(respond(503, '', { retryAfter: 'Sun, 01 Mar 2026 12:00:05 GMT', date: 'Sun, 01 Mar 2026 12:00:03 GMT' }));
    expect(answer).toMatchObject({ ok: false, failure: { retryAfterSeconds: 2 }, retryAfterMs: 2000 });
  });

  it('a Retry-After on a 4xx is not read (only 429 and 5xx are waited out)', () => {
    expect(classify(respond(400, { error: 'invalid_request' }, { retryAfter: '3' }))).toEqual({
      ok: false,
      failure: { kind: 'client_error', status: 400, error: 'invalid_request', description: undefined },
      retryable: false,
    });
  });

  it('a redirect → unavailable "unexpected HTTP 302", not retried', () => {
    expect(classify(respond(302, ''))).toEqual({
      ok: false,
      failure: { kind: 'unavailable', status: 302, error: undefined, description: 'unexpected HTTP 302' },
      retryable: false,
    });
  });
});

describe('classifyTokenResponse: Amazon\'s texts are scrubbed and bounded', () => {
  it('error_description echoing the code or the client secret is scrubbed', () => {
    const answer = classify(respond(400, { error: 'invalid_grant', error_description: `code ${CODE} is not valid for client secret ${CLIENT_SECRET}\nbye` }));
    expect(answer).toEqual({
      ok: false,
      failure: { kind: 'invalid_grant', status: 400, error: 'invalid_grant', description: 'code [redacted] is not valid for client secret [redacted] bye' },
      retryable: false,
    });
  });

  it('an echo of the form-encoded code or secret is scrubbed too', () => {
    const answer = classify(
      respond(400, { error: 'invalid_grant', error_description: `got ${new URLSearchParams({ c: CODE }).toString()} and ${encodeURIComponent(CLIENT_SECRET)}` }),
    );
    expect(answer.ok === false && answer.failure.description).toBe('got c=[redacted] and [redacted]');
  });

  it('the error itself is scrubbed too', () => {
    const answer = classify(respond(500, { error: `server_error ${CODE}` }));
    expect(answer.ok === false && answer.failure.error).toBe('server_error [redacted]');
  });

  it('a long error_description is bounded to 500 characters', () => {
    const answer = classify(respond(400, { error: 'invalid_request', error_description: 'x'.repeat(5000) }));
    expect(answer.ok === false && answer.failure.description).toBe('x'.repeat(500));
  });

  it('an error longer than 200 characters is not Amazon\'s error body: nothing of it is kept', () => {
    expect(classify(respond(400, { error: 'x'.repeat(201) }))).toEqual({
      ok: false,
      failure: { kind: 'client_error', status: 400, error: undefined, description: undefined },
      retryable: false,
    });
  });
});

describe('classifyTransportFailure', () => {
  it.each([
    ['ECONNABORTED', 'timed out'],
    ['ETIMEDOUT', 'timed out'],
    ['ERR_CANCELED', 'timed out'],
    ['ECONNREFUSED', 'network error (ECONNREFUSED)'],
    [undefined, 'network error'],
  ])('%s, certainly not delivered → %j, retried', (code, description) => {
    expect(classifyTransportFailure(code, false)).toEqual({
      ok: false,
      failure: { kind: 'unavailable', status: undefined, error: undefined, description },
      retryable: true,
    });
  });

  it('a failure after the connection was made, with a single-use code → not re-sent', () => {
    expect(classifyTransportFailure('ECONNRESET', true)).toEqual({
      ok: false,
      failure: { kind: 'unavailable', status: undefined, error: undefined, description: 'network error (ECONNRESET) after connecting; not re-sent, the code may be spent' },
      retryable: false,
    });
    expect(classifyTransportFailure('ERR_CANCELED', true).failure.description).toBe('timed out after connecting; not re-sent, the code may be spent');
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2026-03-01T12:00:00.000Z');

  it('reads delta-seconds as ms', () => {
    expect(parseRetryAfter('2', undefined, now)).toBe(2000);
    expect(parseRetryAfter(' 0 ', undefined, now)).toBe(0);
  });

  it('measures an HTTP-date against the response Date when there is one, else against our clock', () => {
    expect(parseRetryAfter('Sun, 01 Mar 2026 12:00:05 GMT', 'Sun, 01 Mar 2026 12:00:01 GMT', now)).toBe(4000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 12:00:05 GMT', undefined, now)).toBe(5000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 12:00:05 GMT', 'yesterday', now)).toBe(5000);
  });

  it('a date already past means now', () => {
    expect(parseRetryAfter('Sun, 01 Mar 2026 11:59:00 GMT', undefined, now)).toBe(0);
  });

  it.each(['', 'soon', '-1', '1.5', '2026-03-01T12:00:05Z', 'Sunday, 01-Mar-26 12:00:05 GMT'])('ignores %j', (header) => {
    expect(parseRetryAfter(header, undefined, now)).toBeUndefined();
  });
});
