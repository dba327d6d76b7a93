import { expect } from 'vitest';
import type { CredentialScope } from '../../src/credentials/index.js';
import { CookieClient } from './cookieClient.js';
import type { Harness } from './harness.js';

/** One-line steps the component tests take through a harness: authorize a seller, build a Login-URI request, wait. */

/** Authorizes `customer` for `sellingPartnerId` as a browser would (launch link → consent → Confirm → callback: 200). */
export async function authorizeOnWebsite(h: Harness, customer: string, sellingPartnerId = 'A1SANDBOXSELLER1', marketplace = 'US'): Promise<void> {
  const browser = new CookieClient();
  const res = await browser.get(await h.approve(browser, customer, { marketplace, sellingPartnerId }));
  expect(res.status).toBe(200);
}

/** The code exchanges (authorization_code grants) the loopback LWA has received, faults included. */
export const codeExchanges = (h: Harness): number => h.lwa.received.filter((f) => f.get('grant_type') === 'authorization_code').length;

/** The customer's credential row in `scope`, as the store holds it now. */
export const credentialRow = async (h: Harness, customer: string, scope: CredentialScope = 'NA') => (await h.services()).store.findCredential(customer, scope);

/**
 * A Login-URI request as Seller Central sends it (Re-Authorize in Manage Your Apps, or an anonymous caller): by default
 * the sandbox Seller Central's NA confirm page as `amazon_callback_uri` and `amzn-state-1` as `amazon_state`.
 */
export function loginUri(h: Harness, fields: { seller: string; state?: string; callback?: string }): string {
  const url = new URL(`${h.origin}/api/login`);
  url.searchParams.set('amazon_callback_uri', fields.callback ?? `${h.origin}/sandbox/sellercentral/na/apps/authorize/confirm`);
  url.searchParams.set('amazon_state', fields.state ?? 'amzn-state-1');
  url.searchParams.set('selling_partner_id', fields.seller);
  return url.toString();
}

/** Polls `condition` every 10 ms until it holds; throws once 10 s have passed without it. */
export async function until(condition: () => Promise<boolean> | boolean): Promise<void> {
  const giveUp = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > giveUp) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
