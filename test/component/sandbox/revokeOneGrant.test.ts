import { afterEach, describe, expect, it } from 'vitest';
import { FORCED_REFRESH_REUSE_MS } from '../../../src/accessTokens/leaseDecision.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';

/**
 * Issue 16.9: "Revoke at Amazon" on one row of the sandbox start page revokes that row's grant only. A seller
 * authorized in NA and in EU holds two grants; revoking the NA row leaves the EU one working, as the docs promise.
 */
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('Revoke at Amazon on one row (16.9)', () => {
  it("revokes that (seller, scope) grant: NA turns revoked at its next token request, the same seller's EU row stays authorized", async () => {
    h = await startHarness();
    const browser = new CookieClient();
    expect((await browser.get(await h.approve(browser, 'alpha', { marketplace: 'US', sellingPartnerId: 'A1SANDBOXSELLER1' }))).status).toBe(200);
    expect((await browser.get(await h.approve(browser, 'alpha', { marketplace: 'DE', sellingPartnerId: 'A1SANDBOXSELLER1' }))).status).toBe(200);

    const page = await browser.get(`${h.origin}/`);
    expect(page.body).toContain('<input type="hidden" name="customer_id" value="alpha"><input type="hidden" name="scope" value="NA"><button type="submit" class="secondary">Revoke at Amazon</button>');
    expect((await browser.postForm(`${h.origin}/start/revoke`, { customer_id: 'alpha', scope: 'NA' })).status).toBe(302);

    const { store } = await h.services();
    // Past the reuse window of the code exchange's token (the fleet's last refresh), so ?refresh=true asks LWA.
    h.clock.advance(FORCED_REFRESH_REUSE_MS + 1);
    for (const region of ['NA', 'EU']) {
      // A fresh token from LWA for each row (nothing cached for NA any more; ?refresh=true for EU).
      await new CookieClient().request(`${h.origin}/api/customers/alpha/access-token?region=${region}&refresh=true`, { method: 'POST' });
    }
    expect((await store.listCredentials()).map((r) => [r.region, r.status]).sort()).toEqual([
      ['EU', 'authorized'],
      ['NA', 'revoked'],
    ]);
    const eu = await new CookieClient().request(`${h.origin}/api/customers/alpha/access-token?region=EU&refresh=true`, { method: 'POST' });
    expect(eu.status).toBe(200);
  });

  it('a row without a refresh token is refused with a page, and nothing is revoked', async () => {
    h = await startHarness();
    const res = await new CookieClient().postForm(`${h.origin}/start/revoke`, { customer_id: 'nobody', scope: 'NA' });
    expect(res.status).toBe(400);
    expect(res.body).toContain('No authorization to revoke');
  });
});
