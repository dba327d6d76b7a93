import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CredentialStore } from '../../../src/credentials/index.js';
import { tokensReencrypt } from '../../../src/cli/tokensReencrypt.js';
import { reencryptSecrets } from '../../../src/crypto/reencryptSecrets.js';
import { parseKeyRing, TokenCipher } from '../../../src/crypto/tokenCipher.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';

/** `npm run tokens:reencrypt` with two keys, on the store the app wrote. */
const OLD = `old:${randomBytes(32).toString('base64')}`;
const NEW = `new:${randomBytes(32).toString('base64')}`;

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ TOKEN_ENCRYPTION_KEYS: OLD });
  for (const [customer, seller] of [['c1', 'A1SANDBOXSELLER1'], ['c2', 'A2SANDBOXSELLER2']] as const) {
    const browser = new CookieClient();
    expect((await browser.get(await h.approve(browser, customer, { sellingPartnerId: seller }))).status).toBe(200);
  }
});
afterEach(async () => {
  await h.close();
});

const cipherFor = (keys: string) => {
  const ring = parseKeyRing(keys);
  if (!ring.ok) throw new Error(ring.problem);
  return new TokenCipher(ring.keys);
};

async function run(keys: string): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await tokensReencrypt({ ...h.values, TOKEN_ENCRYPTION_KEYS: keys }, (line) => lines.push(line));
  return { code, lines };
}

describe('tokens:reencrypt', () => {
  it('re-seals every envelope under the first key, keeps the plaintext, and is a no-op the second time', async () => {
    const { store } = await h.services();
    const before = await store.listSecretEnvelopes();
    const oldCipher = cipherFor(OLD);
    const plain = before.map((r) => oldCipher.decrypt(r.lwaRefreshToken ?? '', { column: 'lwa_refresh_token', customerId: r.customerId, region: r.region }));
    expect(before.every((r) => r.lwaRefreshToken?.startsWith('v1:old:') && r.spapiOauthCode?.startsWith('v1:old:'))).toBe(true);
    const updatedAt = (await store.listCredentials()).map((r) => r.updatedAt.getTime());

    const first = await run(`${NEW},${OLD}`);
    expect(first.code).toBe(0);
    expect(first.lines.at(-2)).toBe('tokens:reencrypt: 4 envelopes examined, 4 re-encrypted, 0 plain MWS tokens sealed, 0 already under "new", 0 changed meanwhile (left alone), 0 failed');
    // The refresh-token fingerprints move to the new key too (on SQLite as the app opens the store, before the run's own pass).
    expect(first.lines.at(-1)).toBe('tokens:reencrypt: 0 refresh-token fingerprints written under "new", 0 duplicates, 0 failed');
    expect(first.lines).toContainEqual(expect.stringContaining('"message":"refresh tokens fingerprinted on opening the store","fingerprinted":2'));

    const after = await store.listSecretEnvelopes();
    const newOnly = cipherFor(NEW);
    expect(after.every((r) => r.lwaRefreshToken?.startsWith('v1:new:') && r.spapiOauthCode?.startsWith('v1:new:'))).toBe(true);
    expect(after.map((r) => r.refreshTokenFingerprint?.split(':')[0])).toEqual(['new', 'new']);
    expect(after.map((r) => r.refreshTokenFingerprint)).toEqual(plain.map((token) => newOnly.fingerprint(token)));
    expect(after.map((r) => newOnly.decrypt(r.lwaRefreshToken ?? '', { column: 'lwa_refresh_token', customerId: r.customerId, region: r.region }))).toEqual(plain);
    expect((await store.listCredentials()).map((r) => r.updatedAt.getTime())).toEqual(updatedAt);

    const second = await run(`${NEW},${OLD}`);
    expect(second.code).toBe(0);
    expect(second.lines.at(-2)).toBe('tokens:reencrypt: 4 envelopes examined, 0 re-encrypted, 0 plain MWS tokens sealed, 4 already under "new", 0 changed meanwhile (left alone), 0 failed');
    expect(second.lines.at(-1)).toBe('tokens:reencrypt: 0 refresh-token fingerprints written under "new", 0 duplicates, 0 failed');
    expect(second.lines.join('\n')).not.toContain(plain[0]);
  });

  /** What code before sealed MWS tokens left on c1's row: the port cannot write it, so it goes in through the file. */
  const plantPlainMwsToken = (): string => {
    const plainMws = `amzn.mws.${randomBytes(8).toString('hex')}`;
    const db = new Database(String(h.values['LOCAL_DB_PATH']));
    try {
      expect(db.prepare(`UPDATE sp_api_credentials SET mws_auth_token = ? WHERE customer_id = 'c1' AND scope = 'NA'`).run(plainMws).changes).toBe(1);
    } finally {
      db.close();
    }
    return plainMws;
  };

  it('seals an MWS token stored in plain text under the first key, says so, and never prints it', async () => {
    const { store } = await h.services();
    const plainMws = plantPlainMwsToken();

    const result = await run(`${NEW},${OLD}`);
    expect(result.code).toBe(0);
    // On SQLite the app seals plain MWS tokens as it opens the store, before the run's own pass (which then finds the
    // envelope already under "new"): the app's line is what reports it.
    const opened = result.lines.map((line) => JSON.parse(line.startsWith('{') ? line : '{}') as Record<string, unknown>);
    expect(opened).toContainEqual(expect.objectContaining({ level: 'info', message: 'plain MWS tokens sealed on opening the store', sealed: 1 }));
    expect(result.lines.at(-2)).toBe('tokens:reencrypt: 5 envelopes examined, 4 re-encrypted, 0 plain MWS tokens sealed, 1 already under "new", 0 changed meanwhile (left alone), 0 failed');
    const sealed = (await store.findCredential('c1', 'NA'))?.mwsAuthToken ?? '';
    expect(sealed).toMatch(/^v1:new:/);
    expect(cipherFor(NEW).decrypt(sealed, { column: 'mws_auth_token', customerId: 'c1', region: 'NA' })).toBe(plainMws);
    expect(result.lines.join('\n')).not.toContain(plainMws);
  });

  it('counts a plain MWS token it seals as "plain MWS tokens sealed", not as re-encrypted', async () => {
    const { store } = await h.services();
    const plainMws = plantPlainMwsToken();
    const report = await reencryptSecrets(store, cipherFor(`${NEW},${OLD}`), 'new');
    expect(report).toEqual({ examined: 5, reencrypted: 4, sealed: 1, alreadyCurrent: 0, changedMeanwhile: 0, failed: [] });
    const sealed = (await store.findCredential('c1', 'NA'))?.mwsAuthToken ?? '';
    expect(cipherFor(NEW).decrypt(sealed, { column: 'mws_auth_token', customerId: 'c1', region: 'NA' })).toBe(plainMws);
  });

  it('reports a row it cannot decrypt, leaves it as it was, and re-encrypts the rest', async () => {
    const { store } = await h.services();
    const [victim] = await store.listSecretEnvelopes();
    if (victim?.lwaRefreshToken == null) throw new Error('no row');
    const unreadable = victim.lwaRefreshToken.replace(/^v1:old:/, 'v1:lost:');
    expect(await store.replaceEnvelope({ customerId: victim.customerId, scope: victim.scope, column: 'lwa_refresh_token', expected: victim.lwaRefreshToken, replacement: unreadable })).toBe(true);

    const result = await run(`${NEW},${OLD}`);
    expect(result.code).toBe(1);
    expect(result.lines).toContain(`tokens:reencrypt: FAILED lwa_refresh_token of customer ${victim.customerId} (NA): no key with id "lost" in TOKEN_ENCRYPTION_KEYS; left as it was`);
    expect(result.lines.at(-2)).toContain('3 re-encrypted');
    // Its refresh token cannot be fingerprinted either: counted as failed, never fingerprinted from a guess.
    expect(result.lines.at(-1)).toBe('tokens:reencrypt: 0 refresh-token fingerprints written under "new", 0 duplicates, 1 failed');
    expect((await store.findCredential(victim.customerId, 'NA'))?.lwaRefreshToken).toBe(unreadable);
  });

  it('does not overwrite a row that changed between reading and writing it (an interrupted or concurrent run)', async () => {
    const { store } = await h.services();
    const racing: CredentialStore = Object.create(store) as CredentialStore;
    racing.listSecretEnvelopes = async () => {
      const rows = await store.listSecretEnvelopes();
      const [first] = rows;
      // Someone re-authorizes c1 after our read.
      if (first?.lwaRefreshToken) {
        await store.replaceEnvelope({ customerId: first.customerId, scope: first.scope, column: 'lwa_refresh_token', expected: first.lwaRefreshToken, replacement: `${first.lwaRefreshToken}x` });
      }
      return rows;
    };
    const report = await reencryptSecrets(racing, cipherFor(`${NEW},${OLD}`), 'new');
    expect(report).toMatchObject({ examined: 4, reencrypted: 3, changedMeanwhile: 1, failed: [] });
  });
});
