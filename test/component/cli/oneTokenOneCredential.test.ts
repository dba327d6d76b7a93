import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { opsCommand } from '../../../src/cli/ops.js';
import type { SettingValues } from '../../../src/config/settingReader.js';
import { startHarness, type Harness } from '../../support/harness.js';

/**
 * A refresh token belongs to at most one credential: `ops import-refresh-token` refuses one already stored for another
 * customer, scope or seller (compared by a keyed fingerprint, never in clear), under the current key or an older one.
 */
let h: Harness;
afterEach(async () => {
  await h.close();
});

async function importing(values: SettingValues, token: string, customer: string, seller: string, marketplace = 'US'): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const argv = ['import-refresh-token', '--customer', customer, '--marketplace', marketplace, '--selling-partner-id', seller];
  const code = await opsCommand(argv, values, h.clock.now(), (l) => lines.push(l), async () => false, undefined, async () => token);
  return { code, lines: lines.filter((l) => !l.startsWith('{')) };
}

const IN_USE =
  'ops: token_in_use: this refresh token is already stored for another Shipica credential (another customer, scope or seller): one token authorizes one credential; nothing was stored';

describe('one refresh token, one credential', () => {
  it('refuses a token stored for another customer, under another seller id or in another scope; nothing is written', async () => {
    h = await startHarness();
    const token = h.lwa.sandbox.selfAuthorize('A1SANDBOXSELLER1');
    expect((await importing(h.values, token, '77', 'A1SANDBOXSELLER1')).code).toBe(0);
    const { store } = await h.services();
    const before = { credentials: await store.listCredentials(), events: await store.listEvents() };

    const elsewhere = await importing(h.values, token, '88', 'A2SANDBOXSELLER2');
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.lines.at(-1)).toBe(IN_USE);
    expect((await importing(h.values, token, '77', 'A1SANDBOXSELLER1', 'DE')).lines.at(-1)).toBe(IN_USE);
    expect({ credentials: await store.listCredentials(), events: await store.listEvents() }).toEqual(before);
    for (const line of [...elsewhere.lines, ...h.logs]) expect(line).not.toContain(token.slice(5, 40));
  });

  it('finds the token stored under a key since rotated out of first place', async () => {
    h = await startHarness();
    const token = h.lwa.sandbox.selfAuthorize('A1SANDBOXSELLER1');
    expect((await importing(h.values, token, '77', 'A1SANDBOXSELLER1')).code).toBe(0);
    const rotated = { ...h.values, TOKEN_ENCRYPTION_KEYS: `test2:${randomBytes(32).toString('base64')},${String(h.values['TOKEN_ENCRYPTION_KEYS'])}` };
    expect((await importing(rotated, token, '88', 'A2SANDBOXSELLER2')).lines.at(-1)).toBe(IN_USE);
  });

  it('lets the same credential import its own token again (a re-authorization, not a second holder)', async () => {
    h = await startHarness();
    const token = h.lwa.sandbox.selfAuthorize('A1SANDBOXSELLER1');
    expect((await importing(h.values, token, '77', 'A1SANDBOXSELLER1')).code).toBe(0);
    const again = await importing(h.values, token, '77', 'A1SANDBOXSELLER1');
    expect(again.code).toBe(0);
    expect(again.lines.at(-1)).toContain('event authorization.reauthorized');
  });
});
