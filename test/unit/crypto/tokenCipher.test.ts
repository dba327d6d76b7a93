import { createDecipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../../src/credentials/index.js';
import {
  CipherError,
  TokenCipher,
  associatedData,
  maxSealedPlaintextLength,
  parseKeyRing,
  type EnvelopeBinding,
  type KeyRing,
} from '../../../src/crypto/tokenCipher.js';

const K1 = Buffer.alloc(32, 0x11);
const K2 = Buffer.alloc(32, 0x22);
const K1_B64 = K1.toString('base64');
const K2_B64 = K2.toString('base64');

function ring(raw: string): KeyRing {
  const parsed = parseKeyRing(raw);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.keys;
}

const binding: EnvelopeBinding = { column: 'lwa_refresh_token', customerId: 'cust-42', region: 'EU' };
const TOKEN = `Atzr|${'IwEBI'.repeat(400)}ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu`.slice(0, 2048);

/** Independent decryption from the documented format only (the comment at the top of tokenCipher.ts). */
function independentDecrypt(envelope: string, keys: Record<string, Buffer>, b: { column: string; region: string; customerId: string }): string {
  const [version, kid, iv, ct, tag, ...rest] = envelope.split(':');
  if (version !== 'v1' || kid === undefined || iv === undefined || ct === undefined || tag === undefined || rest.length > 0) throw new Error('format');
  const key = keys[kid];
  if (key === undefined) throw new Error('kid');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(`sp-api-seller-auth:v1:${b.column}:${b.region}:${b.customerId}`, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
}

describe('parseKeyRing', () => {
  it('parses a single key', () => {
    const parsed = parseKeyRing(`k1:${K1_B64}`);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.keys.current.kid).toBe('k1');
    expect(parsed.keys.current.key.equals(K1)).toBe(true);
    expect([...parsed.keys.byKid.keys()]).toEqual(['k1']);
  });

  it('parses two keys; the first is current, both decrypt', () => {
    const parsed = parseKeyRing(`new:${K2_B64}, old:${K1_B64}`);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.keys.current.kid).toBe('new');
    expect(parsed.keys.current.key.equals(K2)).toBe(true);
    expect([...parsed.keys.byKid.keys()]).toEqual(['new', 'old']);
    expect(parsed.keys.byKid.get('old')?.key.equals(K1)).toBe(true);
  });

  it('accepts base64url key material too', () => {
    const key = Buffer.alloc(32, 0xfb);
    const parsed = parseKeyRing(`k:${key.toString('base64url')}`);
    expect(parsed.ok && parsed.keys.current.key.equals(key)).toBe(true);
  });

  const k31 = randomBytes(31).toString('base64');
  const k33 = randomBytes(33).toString('base64');
  const bad: Array<[string, string, RegExp]> = [
    ['missing colon', K1_B64, /^entry 1 must look like kid:base64key/],
    ['missing colon in second entry', `k1:${K1_B64},${K2_B64}`, /^entry 2 must look like kid:base64key/],
    ['bad kid (space)', `my key:${K1_B64}`, /^entry 1 /],
    ['bad kid (dot)', `k.1:${K1_B64}`, /^entry 1 /],
    ['bad kid (33 chars)', `${'k'.repeat(33)}:${K1_B64}`, /^entry 1 /],
    ['empty kid', `:${K1_B64}`, /^entry 1 /],
    ['duplicate kid', `k1:${K1_B64},k1:${K2_B64}`, /^has key id "k1" twice\.$/],
    ['31-byte key', `k1:${k31}`, /^key "k1" must be 32 bytes, base64-encoded\.$/],
    ['33-byte key', `k1:${k33}`, /^key "k1" must be 32 bytes, base64-encoded\.$/],
    ['non-base64 key', `k1:${'!'.repeat(43)}=`, /^key "k1" must be 32 bytes, base64-encoded\.$/],
    ['empty key', 'k1:', /^key "k1" must be 32 bytes/],
    ['empty string', '', /^entry 1 must look like kid:base64key/],
    ['trailing comma', `k1:${K1_B64},`, /^entry 2 /],
  ];
  it.each(bad)('refuses %s, without echoing key material', (_label, raw, message) => {
    const parsed = parseKeyRing(raw);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problem).toMatch(message);
    for (const material of [K1_B64, K2_B64, k31, k33, K1_B64.slice(0, 12), K2_B64.slice(0, 12), k31.slice(0, 12), k33.slice(0, 12)]) {
      expect(parsed.problem).not.toContain(material);
    }
  });
});

describe('TokenCipher', () => {
  const cipher = new TokenCipher(ring(`k1:${K1_B64}`));

  it('round-trips a 2048-byte token and stays within 4000 characters', () => {
    expect(Buffer.byteLength(TOKEN)).toBe(2048);
    const envelope = cipher.encrypt(TOKEN, binding);
    // v1 : k1 : 16 (12-byte iv) : 2731 (2048-byte ct) : 22 (16-byte tag)
    expect(envelope.length).toBe(2 + 1 + 2 + 1 + 16 + 1 + 2731 + 1 + 22);
    expect(envelope.length).toBeLessThanOrEqual(4000);
    // the longest kid (32 chars) still fits
    const longKid = new TokenCipher(ring(`${'k'.repeat(32)}:${K1_B64}`)).encrypt(TOKEN, binding);
    expect(longKid.length).toBe(2807);
    expect(longKid.length).toBeLessThanOrEqual(4000);
    expect(cipher.decrypt(envelope, binding)).toBe(TOKEN);
  });

  it('round-trips unicode and empty text', () => {
    for (const text of ['', 'Ünïcødé 顧客 😀', 'Atza|a:b:c']) {
      expect(cipher.decrypt(cipher.encrypt(text, binding), binding)).toBe(text);
    }
  });

  it('envelope is v1:kid:iv:ct:tag with 12-byte iv and 16-byte tag, base64url without padding', () => {
    const envelope = cipher.encrypt('Atzr|hello', binding);
    const parts = envelope.split(':');
    expect(parts).toHaveLength(5);
    const [version, kid, iv, ct, tag] = parts as [string, string, string, string, string];
    expect(version).toBe('v1');
    expect(kid).toBe('k1');
    for (const part of [iv, ct, tag]) expect(part).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(iv).toHaveLength(16);
    expect(Buffer.from(iv, 'base64url')).toHaveLength(12);
    expect(tag).toHaveLength(22);
    expect(Buffer.from(tag, 'base64url')).toHaveLength(16);
    expect(Buffer.from(ct, 'base64url')).toHaveLength(Buffer.byteLength('Atzr|hello'));
    expect(envelope).not.toContain('hello');
  });

  it('two encryptions of the same plaintext differ (random IV)', () => {
    const a = cipher.encrypt(TOKEN, binding);
    const b = cipher.encrypt(TOKEN, binding);
    expect(a).not.toBe(b);
    expect(a.split(':')[2]).not.toBe(b.split(':')[2]);
    expect(cipher.decrypt(a, binding)).toBe(TOKEN);
    expect(cipher.decrypt(b, binding)).toBe(TOKEN);
  });

  it('associatedData is the documented string', () => {
    expect(associatedData(binding).toString('utf8')).toBe('sp-api-seller-auth:v1:lwa_refresh_token:EU:cust-42');
    expect(associatedData({ column: 'spapi_oauth_code', customerId: 'Müller', region: 'NA' })).toEqual(
      Buffer.from('sp-api-seller-auth:v1:spapi_oauth_code:NA:Müller', 'utf8'),
    );
  });

  describe('decrypt refuses (CipherError)', () => {
    const envelope = cipher.encrypt(TOKEN, binding);
    const [v, kid, iv, ct, tag] = envelope.split(':') as [string, string, string, string, string];
    const flip = (text: string, at = 0): string => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);

    const cases: Array<[string, string, EnvelopeBinding]> = [
      ['another customer', envelope, { ...binding, customerId: 'cust-43' }],
      ['another region', envelope, { ...binding, region: 'NA' }],
      ['another column', envelope, { ...binding, column: 'spapi_oauth_code' }],
      ['customer id with a colon shifted into region', envelope, { ...binding, region: 'EU:cust-42', customerId: '' }],
      ['tampered ciphertext', [v, kid, iv, flip(ct, 100), tag].join(':'), binding],
      ['tampered tag', [v, kid, iv, ct, flip(tag)].join(':'), binding],
      ['tampered iv', [v, kid, flip(iv), ct, tag].join(':'), binding],
      ['truncated iv', [v, kid, iv.slice(0, 15), ct, tag].join(':'), binding],
      ['truncated tag', [v, kid, iv, ct, tag.slice(0, 20)].join(':'), binding],
      ['unknown kid', ['v1', 'k9', iv, ct, tag].join(':'), binding],
      ['other version', ['v2', kid, iv, ct, tag].join(':'), binding],
      ['extra part', `${envelope}:x`, binding],
      ['stray characters in the ciphertext', [v, kid, iv, `${ct}!!`, tag].join(':'), binding],
      ['a second spelling of the tag (unused low bits changed)', [v, kid, iv, ct, tag.slice(0, -1) + (tag.endsWith('A') ? 'B' : 'A')].join(':'), binding],
      ['garbage', 'not an envelope', binding],
      ['empty', '', binding],
      ['plaintext token', TOKEN, binding],
    ];
    it.each(cases)('%s', (_label, value, b) => {
      expect(() => cipher.decrypt(value, b)).toThrow(CipherError);
    });

    it('errors name the kid but never the plaintext or key', () => {
      try {
        cipher.decrypt(envelope, { ...binding, customerId: 'x' });
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(CipherError);
        const message = (error as Error).message;
        expect(message).toContain('"k1"');
        expect(message).not.toContain(K1_B64);
        expect(message).not.toContain('IwEBI');
        expect((error as Error).name).toBe('CipherError');
      }
    });
  });

  it('key rotation: "new:K2,old:K1" decrypts old envelopes and seals new ones under "new"', () => {
    const old = new TokenCipher(ring(`old:${K1_B64}`));
    const sealedOld = old.encrypt(TOKEN, binding);
    expect(TokenCipher.keyIdOf(sealedOld)).toBe('old');

    const rotated = new TokenCipher(ring(`new:${K2_B64},old:${K1_B64}`));
    expect(rotated.decrypt(sealedOld, binding)).toBe(TOKEN);
    const sealedNew = rotated.encrypt(TOKEN, binding);
    expect(TokenCipher.keyIdOf(sealedNew)).toBe('new');
    expect(sealedNew.split(':')[1]).toBe('new');
    expect(rotated.decrypt(sealedNew, binding)).toBe(TOKEN);
    // the old ring does not know "new"
    expect(() => old.decrypt(sealedNew, binding)).toThrow(CipherError);
    // a ring that dropped "old" can no longer read old envelopes
    expect(() => new TokenCipher(ring(`new:${K2_B64}`)).decrypt(sealedOld, binding)).toThrow(CipherError);
  });

  it('the same kid with a different key fails authentication', () => {
    const sealed = new TokenCipher(ring(`k:${K1_B64}`)).encrypt(TOKEN, binding);
    expect(() => new TokenCipher(ring(`k:${K2_B64}`)).decrypt(sealed, binding)).toThrow(CipherError);
  });

  it('keyIdOf', () => {
    expect(TokenCipher.keyIdOf(cipher.encrypt('x', binding))).toBe('k1');
    expect(TokenCipher.keyIdOf('v1:abc:x:y:z')).toBe('abc');
    expect(TokenCipher.keyIdOf('v2:abc:x:y:z')).toBeUndefined();
    expect(TokenCipher.keyIdOf('garbage')).toBeUndefined();
    expect(TokenCipher.keyIdOf('')).toBeUndefined();
  });

  it('an independent implementation of the documented format decrypts the envelope', () => {
    const rotated = new TokenCipher(ring(`new:${K2_B64},old:${K1_B64}`));
    for (const b of [binding, { column: 'spapi_oauth_code' as const, customerId: 'Müller & Söhne', region: 'FE' }]) {
      const envelope = rotated.encrypt(TOKEN, b);
      expect(independentDecrypt(envelope, { new: K2, old: K1 }, b)).toBe(TOKEN);
      expect(() => independentDecrypt(envelope, { new: K2 }, { ...b, region: 'NA' })).toThrow();
    }
  });
});

describe('maxSealedPlaintextLength', () => {
  // The longest kid parseKeyRing allows: the bound must hold whichever key seals.
  const longKid = 'K'.repeat(32);
  const sealer = new TokenCipher(ring(`${longKid}:${K1_B64}`));
  const sealedLength = (plaintextLength: number): number => sealer.encrypt('A'.repeat(plaintextLength), binding).length;
  // Every remainder of the base64url tail (mod 4), the store's column as it is today, and a doubled column.
  const sizes = [...Array.from({ length: 12 }, (_, i) => 100 + i), LIMITS.encryptedRefreshToken, 8000];

  it.each(sizes)('the longest plaintext for %i characters seals into at most that many, and at most 1 fewer', (envelopeChars) => {
    const length = sealedLength(maxSealedPlaintextLength(envelopeChars));
    expect(length).toBeLessThanOrEqual(envelopeChars);
    expect(length).toBeGreaterThanOrEqual(envelopeChars - 1);
  });

  it.each(sizes)('one character more does not fit in %i characters', (envelopeChars) => {
    expect(sealedLength(maxSealedPlaintextLength(envelopeChars) + 1)).toBeGreaterThan(envelopeChars);
  });

  it('is 0 when the envelope has no room beyond its fixed parts', () => {
    expect(maxSealedPlaintextLength(sealedLength(0))).toBe(0);
    expect(maxSealedPlaintextLength(10)).toBe(0);
    expect(maxSealedPlaintextLength(0)).toBe(0);
  });
});
