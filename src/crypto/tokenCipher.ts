import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { SecretColumn } from '../credentials/index.js';

export type { SecretColumn };

/**
 * AES-256-GCM envelope for secrets at rest (refresh tokens, authorization codes):
 *
 *   v1:<kid>:<iv>:<ciphertext>:<tag>      iv 12 bytes, tag 16 bytes, each part base64url without padding
 *
 * The associated data binds an envelope to its row and column, so a value copied to another customer, region
 * or column does not decrypt:  UTF-8 of  `sp-api-seller-auth:v1:<column>:<region>:<customer_id>`.
 */
export const ENVELOPE_VERSION = 'v1';

export interface TokenKey {
  kid: string;
  key: Buffer;
}

/** The first key encrypts; every key decrypts. */
export interface KeyRing {
  readonly current: TokenKey;
  readonly byKid: ReadonlyMap<string, TokenKey>;
}

/**
 * Columns an envelope may be bound to: the credential row's secrets, and `access_token` (sp_api_access_tokens, the
 * access token shared by the fleet; disposable, so not among the columns tokens:reencrypt rewrites).
 */
export type EnvelopeColumn = SecretColumn | 'access_token';

export interface EnvelopeBinding {
  column: EnvelopeColumn;
  customerId: string;
  region: string;
}

export class CipherError extends Error {
  override readonly name = 'CipherError';
}

const MAX_KID_LENGTH = 32;
const KID_PATTERN = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_KID_LENGTH}}$`);
/** The sizes encrypt() writes; the boundary test seals with a real cipher, so it catches the two drifting apart. */
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Length of `bytes` bytes in base64url without padding. */
function base64urlLength(bytes: number): number {
  return Math.ceil((bytes * 4) / 3);
}

/**
 * The longest ASCII plaintext (characters = UTF-8 bytes) whose v1 envelope fits in `envelopeChars` characters,
 * whichever key seals it (the overhead is counted with the longest allowed kid, 32 characters). 0 when not even an
 * empty plaintext fits. GCM adds no padding, so the ciphertext is as long as the plaintext.
 */
export function maxSealedPlaintextLength(envelopeChars: number): number {
  const separators = 4;
  const overhead = ENVELOPE_VERSION.length + MAX_KID_LENGTH + base64urlLength(IV_BYTES) + base64urlLength(TAG_BYTES) + separators;
  const ciphertextChars = Math.max(0, Math.floor(envelopeChars) - overhead);
  // Every 3 bytes take 4 characters; a trailing 1 or 2 bytes take 2 or 3, so floor(3c/4) bytes fit in c characters.
  return Math.floor((ciphertextChars * 3) / 4);
}

/** Parses `kid:base64-of-32-bytes[,kid:…]`. Problems name the key id or position, never key material. */
export function parseKeyRing(raw: string): { ok: true; keys: KeyRing } | { ok: false; problem: string } {
  const keys: TokenKey[] = [];
  const entries = raw.split(',').map((s) => s.trim());
  for (const [index, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const kid = colon < 0 ? '' : entry.slice(0, colon);
    const material = colon < 0 ? '' : entry.slice(colon + 1);
    if (!KID_PATTERN.test(kid)) {
      return { ok: false, problem: `entry ${index + 1} must look like kid:base64key, kid made of A-Z a-z 0-9 _ - (1-32 chars).` };
    }
    if (keys.some((k) => k.kid === kid)) return { ok: false, problem: `has key id "${kid}" twice.` };
    const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(material) ? Buffer.from(material, 'base64') : Buffer.alloc(0);
    if (key.length !== 32) return { ok: false, problem: `key "${kid}" must be 32 bytes, base64-encoded.` };
    keys.push({ kid, key });
  }
  const [current] = keys;
  if (current === undefined) return { ok: false, problem: 'must hold at least one key.' };
  return { ok: true, keys: { current, byKid: new Map(keys.map((k) => [k.kid, k])) } };
}

export function associatedData(binding: EnvelopeBinding): Buffer {
  return Buffer.from(`sp-api-seller-auth:${ENVELOPE_VERSION}:${binding.column}:${binding.region}:${binding.customerId}`, 'utf8');
}

/** The HKDF `info` of the fingerprint key derived from each encryption key (never used to encrypt). */
const FINGERPRINT_INFO = 'sp-api-seller-auth:refresh-token-fingerprint:v1';

export class TokenCipher {
  /** Fingerprint keys by kid, derived on first use. */
  private readonly fingerprintKeys = new Map<string, Buffer>();

  constructor(private readonly ring: KeyRing) {}

  /**
   * A refresh token's keyed fingerprint under the current key: `<kid>:<base64url of HMAC-SHA256>` (at most 76
   * characters), with a key derived (HKDF) from the encryption key. Equal tokens give equal fingerprints under one key,
   * so the store can hold one token in one credential only (a unique index) without ever seeing or comparing the
   * token; without the key it reveals nothing about it.
   */
  fingerprint(token: string): string {
    return this.fingerprintUnder(this.ring.current, token);
  }

  /** The token's fingerprint under every key of the ring: rows fingerprinted before a rotation match one of them. */
  fingerprints(token: string): string[] {
    return [...this.ring.byKid.values()].map((key) => this.fingerprintUnder(key, token));
  }

  private fingerprintUnder(key: TokenKey, token: string): string {
    let derived = this.fingerprintKeys.get(key.kid);
    if (derived === undefined) {
      derived = Buffer.from(hkdfSync('sha256', key.key, Buffer.alloc(0), FINGERPRINT_INFO, 32));
      this.fingerprintKeys.set(key.kid, derived);
    }
    return `${key.kid}:${createHmac('sha256', derived).update(token, 'utf8').digest('base64url')}`;
  }

  encrypt(plaintext: string, binding: EnvelopeBinding): string {
    const { kid, key } = this.ring.current;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(associatedData(binding));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, ciphertext, cipher.getAuthTag()].map((b) => b.toString('base64url'));
    return [ENVELOPE_VERSION, kid, ...parts].join(':');
  }

  decrypt(envelope: string, binding: EnvelopeBinding): string {
    const parts = envelope.split(':');
    const [version, kid, ivText, ciphertextText, tagText] = parts;
    if (parts.length !== 5 || version !== ENVELOPE_VERSION || kid === undefined || ivText === undefined || ciphertextText === undefined || tagText === undefined) {
      throw new CipherError('not a v1 token envelope');
    }
    const entry = this.ring.byKid.get(kid);
    if (entry === undefined) throw new CipherError(`no key with id "${kid}" in TOKEN_ENCRYPTION_KEYS`);
    const [iv, ciphertext, tag] = [ivText, ciphertextText, tagText].map(strictBase64url);
    if (iv === undefined || ciphertext === undefined || tag === undefined || iv.length !== 12 || tag.length !== 16) {
      throw new CipherError('malformed token envelope');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', entry.key, iv);
      decipher.setAAD(associatedData(binding));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new CipherError(`token envelope failed authentication with key "${kid}" (wrong key, row or column)`);
    }
  }

  /** Key id an envelope was sealed with, for re-encryption tooling. */
  static keyIdOf(envelope: string): string | undefined {
    const [version, kid] = envelope.split(':');
    return version === ENVELOPE_VERSION ? kid : undefined;
  }
}

/** One spelling per envelope: Node's decoder skips stray characters and ignores trailing bits, so check both. */
function strictBase64url(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}
