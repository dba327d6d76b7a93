import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseKeyRing, TokenCipher } from '../../../src/crypto/tokenCipher.js';

const ring = (raw: string) => {
  const parsed = parseKeyRing(raw);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.keys;
};
const key = () => randomBytes(32).toString('base64');

describe("a refresh token's fingerprint", () => {
  const token = `Atzr|${randomBytes(200).toString('base64url')}`;
  const older = key();
  const cipher = new TokenCipher(ring(`k2:${key()},k1:${older}`));

  it('is the same for the same token under one key, names the key, fits its column, and never holds the token', () => {
    const fingerprint = cipher.fingerprint(token);
    expect(cipher.fingerprint(token)).toBe(fingerprint);
    expect(fingerprint).toMatch(/^k2:[A-Za-z0-9_-]{43}$/);
    expect(fingerprint.length).toBeLessThanOrEqual(80);
    expect(fingerprint).not.toContain(token.slice(5, 20));
    expect(cipher.fingerprint(`${token}x`)).not.toBe(fingerprint);
    // The longest key id allowed (32 characters) still fits refresh_token_fingerprint's 80.
    expect(new TokenCipher(ring(`${'k'.repeat(32)}:${key()}`)).fingerprint(token).length).toBeLessThanOrEqual(80);
  });

  it('under every key of the ring: a row fingerprinted before a rotation is found by the old key', () => {
    const before = new TokenCipher(ring(`k1:${older}`)).fingerprint(token);
    expect(cipher.fingerprints(token)).toEqual([cipher.fingerprint(token), before]);
  });

  it('is keyed: another key gives another fingerprint for the same token', () => {
    expect(new TokenCipher(ring(`k2:${key()}`)).fingerprint(token)).not.toBe(cipher.fingerprint(token));
  });
});
