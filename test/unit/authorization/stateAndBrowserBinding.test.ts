import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RandomSource } from '../../../src/credentials/index.js';
import { STATE_PATTERN, bindingCookieName, isWellFormedState, newBrowserBinding, newState, sha256Hex } from '../../../src/authorization/state.js';

function fixedRandom(): RandomSource & { lengths: number[] } {
  const lengths: number[] = [];
  return {
    lengths,
    bytes(length: number): Buffer {
      lengths.push(length);
      return Buffer.from(Array.from({ length }, (_, i) => i));
    },
  };
}

const realRandom: RandomSource = { bytes: (n) => randomBytes(n) };

describe('state', () => {
  it('newState asks for 32 bytes and base64url-encodes them without padding (43 chars)', () => {
    const random = fixedRandom();
    const state = newState(random);
    expect(random.lengths).toEqual([32]);
    expect(state).toBe('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8');
    expect(state).toHaveLength(43);
    expect(STATE_PATTERN.test(state)).toBe(true);
  });

  it('uses the URL-safe alphabet (- and _, never + or /)', () => {
    const state = newState({ bytes: (n) => Buffer.alloc(n, 0xfb) });
    expect(state).toBe('-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s');
    expect(isWellFormedState(state)).toBe(true);
  });

  it('newBrowserBinding is also 32 bytes base64url', () => {
    const random = fixedRandom();
    expect(newBrowserBinding(random)).toBe('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8');
    expect(random.lengths).toEqual([32]);
  });

  it('1000 real states are unique and match STATE_PATTERN', () => {
    const states = Array.from({ length: 1000 }, () => newState(realRandom));
    expect(new Set(states).size).toBe(1000);
    for (const state of states) expect(state).toMatch(STATE_PATTERN);
  });

  it('isWellFormedState refuses other shapes', () => {
    expect(isWellFormedState('A'.repeat(43))).toBe(true);
    expect(isWellFormedState('A'.repeat(42))).toBe(false);
    expect(isWellFormedState('A'.repeat(44))).toBe(false);
    expect(isWellFormedState(`${'A'.repeat(42)}=`)).toBe(false);
    expect(isWellFormedState(`${'A'.repeat(42)}+`)).toBe(false);
    expect(isWellFormedState(`${'A'.repeat(42)}/`)).toBe(false);
    expect(isWellFormedState(`${'A'.repeat(43)}\n`)).toBe(false);
    expect(isWellFormedState('')).toBe(false);
  });

  it('sha256Hex known vectors', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('bindingCookieName uses a 16-char prefix of the state hash and never contains the state', () => {
    const state = newState(fixedRandom());
    const hash = sha256Hex(state);
    const name = bindingCookieName(hash);
    expect(name).toBe(`spapi_auth_${hash.slice(0, 16)}`);
    expect(name).toHaveLength('spapi_auth_'.length + 16);
    expect(name).not.toContain(state);
    expect(bindingCookieName(sha256Hex('abc'))).toBe('spapi_auth_ba7816bf8f01cfea');
    for (let i = 0; i < 50; i++) {
      const s = newState(realRandom);
      const cookie = bindingCookieName(sha256Hex(s));
      expect(cookie).toMatch(/^spapi_auth_[0-9a-f]{16}$/);
      expect(cookie).not.toContain(s.slice(0, 8));
    }
  });
});
