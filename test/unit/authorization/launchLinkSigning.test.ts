import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  LAUNCH_LINK_PATH,
  isValidCustomerId,
  MAX_LINK_LIFETIME_SECONDS,
  buildLaunchLink,
  launchLinkMessage,
  signLaunchLink,
  verifyLaunchLink,
} from '../../../src/authorization/launchLink.js';
import { LAUNCH_LINK_VECTOR as V } from '../../support/launchLinkVector.js';

const SECRET: string = V.secret;
const NOW = 1_767_225_000;

/** Independent signer: raw string fields, the documented message and HMAC, no code from src. */
function independentSig(fields: { customer_id: string; marketplace: string; expires: string }, secret = SECRET): string {
  const message = new URLSearchParams([
    ['customer_id', fields.customer_id],
    ['marketplace', fields.marketplace],
    ['expires', fields.expires],
  ]).toString();
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(message, 'utf8').digest('base64url');
}

function signedQuery(fields: { customer_id: string; marketplace: string; expires: string }, secret = SECRET): URLSearchParams {
  const query = new URLSearchParams([
    ['customer_id', fields.customer_id],
    ['marketplace', fields.marketplace],
    ['expires', fields.expires],
  ]);
  query.set('sig', independentSig(fields, secret));
  return query;
}

function problemOf(query: URLSearchParams, now = NOW): string {
  const result = verifyLaunchLink(query, SECRET, now);
  return result.ok ? 'ok' : result.problem;
}

const valid = { customer_id: 'cust-1', marketplace: 'DE', expires: String(NOW + 300) };

describe('launch link message and fixed test vector', () => {
  it('message is URLSearchParams in the order customer_id, marketplace, expires', () => {
    expect(launchLinkMessage({ customerId: 'a b&c=d', marketplace: 'US', expires: 5 })).toBe(
      'customer_id=a+b%26c%3Dd&marketplace=US&expires=5',
    );
    expect(launchLinkMessage({ customerId: V.customerId, marketplace: V.marketplace, expires: V.expires })).toBe(V.message);
  });

  it('the vector sig equals an independent HMAC-SHA256 over the literal message', () => {
    const independent = createHmac('sha256', Buffer.from(V.secret, 'utf8'))
      .update('customer_id=42&marketplace=DE&expires=1767225600', 'utf8')
      .digest('base64url');
    expect(independent).toBe('Loa6zxeXSh0gcZao5WI0CVXJ5oRDsmHu78iB2iDi5Jw');
    expect(V.sig).toBe(independent);
    expect(V.sig).toHaveLength(43);
  });

  it('signLaunchLink and buildLaunchLink reproduce the vector', () => {
    const fields = { customerId: V.customerId, marketplace: V.marketplace, expires: V.expires };
    expect(signLaunchLink(fields, V.secret)).toBe(V.sig);
    expect(buildLaunchLink('http://localhost:7071', fields, V.secret)).toBe(V.url);
    expect(new URL(V.url).pathname).toBe(LAUNCH_LINK_PATH);
  });

  it('the vector URL verifies', () => {
    const result = verifyLaunchLink(new URL(V.url).searchParams, V.secret, V.expires - 60);
    expect(result).toEqual({
      ok: true,
      link: {
        customerId: '42',
        marketplace: { code: 'DE', region: 'EU', scope: 'EU', sellerCentralHost: 'sellercentral-europe.amazon.com', vendorCentralHost: 'vendorcentral.amazon.de' },
        expires: 1767225600,
      },
    });
  });
});

describe('verifyLaunchLink problems', () => {
  it('accepts a valid link', () => {
    expect(problemOf(signedQuery(valid))).toBe('ok');
  });

  it.each(['customer_id', 'marketplace', 'expires'])('link_incomplete when %s is missing', (name) => {
    const query = signedQuery(valid);
    query.delete(name);
    expect(problemOf(query)).toBe('link_incomplete');
  });

  it.each(['customer_id', 'marketplace', 'expires', 'sig'])('link_incomplete when %s is repeated', (name) => {
    const query = signedQuery(valid);
    query.append(name, query.get(name) ?? '');
    expect(problemOf(query)).toBe('link_incomplete');
  });

  it('link_incomplete for a repeated customer_id whose first value is the signed one', () => {
    const query = new URLSearchParams(`${signedQuery(valid).toString()}&customer_id=other`);
    expect(problemOf(query)).toBe('link_incomplete');
  });

  it('signature_missing without sig', () => {
    const query = signedQuery(valid);
    query.delete('sig');
    expect(problemOf(query)).toBe('signature_missing');
  });

  it('signature_invalid for a tampered customer_id', () => {
    const query = signedQuery(valid);
    query.set('customer_id', 'cust-2');
    expect(problemOf(query)).toBe('signature_invalid');
  });

  it('signature_invalid for a tampered marketplace or expires', () => {
    const a = signedQuery(valid);
    a.set('marketplace', 'FR');
    expect(problemOf(a)).toBe('signature_invalid');
    const b = signedQuery(valid);
    b.set('expires', String(NOW + 301));
    expect(problemOf(b)).toBe('signature_invalid');
  });

  it('signature_invalid for a sig of the wrong length', () => {
    const sig = independentSig(valid);
    for (const bad of [sig.slice(0, 42), `${sig}A`, `${sig}=`, '', sig.slice(0, 22)]) {
      const query = signedQuery(valid);
      query.set('sig', bad);
      expect(problemOf(query), bad).toBe('signature_invalid');
    }
  });

  it('signature_invalid for a standard-base64 sig or one made with another secret', () => {
    const query = signedQuery(valid);
    query.set('sig', createHmac('sha256', SECRET).update(new URLSearchParams(valid).toString()).digest('base64'));
    expect(problemOf(query)).toBe('signature_invalid');
    expect(problemOf(signedQuery(valid, 'another-secret-another-secret-0123456789'))).toBe('signature_invalid');
  });

  it.each(['abc', '-5', '1e9', '', ' 1767225300', '1767225300.0', '1234567890123'])('expires_invalid for signed expires %j', (expires) => {
    expect(problemOf(signedQuery({ ...valid, expires }))).toBe('expires_invalid');
  });

  it('link_expired when expires == now and when expires < now', () => {
    expect(problemOf(signedQuery({ ...valid, expires: String(NOW) }))).toBe('link_expired');
    expect(problemOf(signedQuery({ ...valid, expires: String(NOW - 1) }))).toBe('link_expired');
    expect(problemOf(signedQuery({ ...valid, expires: String(NOW + 1) }))).toBe('ok');
  });

  it('expires_too_far beyond now + 3600; exactly now + 3600 accepted', () => {
    expect(MAX_LINK_LIFETIME_SECONDS).toBe(3600);
    expect(problemOf(signedQuery({ ...valid, expires: String(NOW + 3601) }))).toBe('expires_too_far');
    expect(problemOf(signedQuery({ ...valid, expires: String(NOW + 3600) }))).toBe('ok');
  });

  it.each(['XX', 'de', 'GB', ''])('marketplace_unknown for %j', (marketplace) => {
    expect(problemOf(signedQuery({ ...valid, marketplace }))).toBe('marketplace_unknown');
  });

  it.each([
    ['empty', ''],
    ['65 chars', 'a'.repeat(65)],
    ['33 emoji (66 UTF-16 units: more than NVARCHAR(64) holds)', '😀'.repeat(33)],
    ['trailing space (SQL Server would not tell it apart)', '42 '],
    ['leading space', ' 42'],
    ['NUL', 'ab\u0000cd'],
    ['newline', 'ab\ncd'],
    ['DEL', 'ab\u007fcd'],
    ['C1 control', 'ab\u0085cd'],
  ])('customer_id_invalid for %s', (_label, customer_id) => {
    expect(problemOf(signedQuery({ ...valid, customer_id }))).toBe('customer_id_invalid');
  });

  it.each([
    ['64 chars', 'a'.repeat(64)],
    ['32 emoji (64 UTF-16 units)', '😀'.repeat(32)],
    ['unicode', 'Müller-顧客-😀'],
    ['1 char', 'x'],
  ])('customer id accepted: %s', (_label, customer_id) => {
    const result = verifyLaunchLink(signedQuery({ ...valid, customer_id }), SECRET, NOW);
    expect(result.ok && result.link.customerId).toBe(customer_id);
  });
});

describe('buildLaunchLink round trip', () => {
  it.each(['42', 'a&b=c', 'with spaces  inside', 'Müller & Söhne', '顧客=😀', '+%2B?#/'])('round-trips customer id %j', (customerId) => {
    const expires = NOW + 120;
    const url = new URL(buildLaunchLink('https://auth.example.com', { customerId, marketplace: 'JP', expires }, SECRET));
    expect(url.origin).toBe('https://auth.example.com');
    expect(url.pathname).toBe('/api/authorize');
    expect([...url.searchParams.keys()]).toEqual(['customer_id', 'marketplace', 'expires', 'sig']);
    expect(url.searchParams.get('sig')).toBe(independentSig({ customer_id: customerId, marketplace: 'JP', expires: String(expires) }));
    const result = verifyLaunchLink(url.searchParams, SECRET, NOW);
    expect(result).toEqual({
      ok: true,
      link: { customerId, marketplace: expect.objectContaining({ code: 'JP', region: 'FE' }), expires },
    });
  });

  it('a link verified with another secret fails', () => {
    const url = new URL(buildLaunchLink('https://auth.example.com', { customerId: 'c', marketplace: 'US', expires: NOW + 60 }, SECRET));
    expect(verifyLaunchLink(url.searchParams, `${SECRET}x`, NOW)).toEqual({ ok: false, problem: 'signature_invalid' });
  });
});

describe('customer ids refuse characters that spoof the ops table', () => {
  it.each([
    ['right-to-left override U+202E', 'cust\u202Etxt'],
    ['left-to-right embedding U+202A', '\u202Acust'],
    ['zero-width space U+200B', 'cu\u200Bst'],
    ['zero-width joiner U+200D', 'cu\u200Dst'],
    ['byte-order mark U+FEFF', 'cust\uFEFF1'],
    ['a C1 control U+0085', 'cust\u0085'],
  ])('refuses %s', (_name, id) => {
    expect(isValidCustomerId(id)).toBe(false);
  });

  it('still accepts letters of any script, and inner spaces', () => {
    for (const id of ['Müller GmbH', '顧客-42', 'a b', 'عميل']) expect(isValidCustomerId(id)).toBe(true);
  });
});
