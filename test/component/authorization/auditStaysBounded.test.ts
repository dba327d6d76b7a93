import { afterEach, describe, expect, it } from 'vitest';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';

/**
 * Callbacks naming states nobody issued (a stranger's flood) are refused without writing a row, and logged as a
 * bounded summary, not a line each. Through the local host, non-sandbox settings, loopback LWA.
 */
let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe('the audit stays bounded', () => {
  it('5,000 callbacks with random states are each refused 400, write no attempt, and log at most one summary line a second', async () => {
    h = await startHarness();
    const { store } = await h.services();
    const logsBefore = h.logs.length;
    const client = new CookieClient();
    const started = Date.now();
    for (let batch = 0; batch < 50; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          const state = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
          const url = `${h.origin}/api/lwa-callback?state=${state}&selling_partner_id=A1SANDBOXSELLER1&spapi_oauth_code=ANcode`;
          expect((await client.request(url, { method: 'GET' })).status).toBe(400);
        }),
      );
    }
    const seconds = Math.ceil((Date.now() - started) / 1000);
    expect(await store.listAttempts()).toEqual([]);
    const lines = h.logs.slice(logsBefore).filter((l) => l.includes('never issued'));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThanOrEqual(seconds + 1);
    const last = JSON.parse(lines.at(-1) ?? '{}') as { totalRefused?: number };
    expect(last.totalRefused).toBeLessThanOrEqual(5000);
    expect((await h.services()).unknownStates.total).toBe(5000);
  }, 60_000); // 5,000 round trips: room for a machine busy with other files
});
