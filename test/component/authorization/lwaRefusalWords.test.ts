import { afterEach, describe, expect, it } from 'vitest';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';

/**
 * Issue 16.9: what the seller reads when LWA refuses the code exchange with a 4xx. "Amazon refused Shipica's
 * application credentials" only when LWA said so (invalid_client, unauthorized_client); its other refusals are a
 * configuration problem at Shipica, in those words. The reason code is lwa_client_error either way.
 */
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const CREDENTIALS = "Amazon refused Shipica&#39;s application credentials.";
const REQUEST = 'Amazon&#39;s login service refused Shipica&#39;s request to finish the authorization. This is a configuration problem at Shipica, not something you did.';
const json = (error: string) => JSON.stringify({ error, error_description: `${error} (test)` });

describe('the words for each LWA refusal of the code exchange (16.9)', () => {
  for (const [name, fault, words] of [
    ['400 invalid_request', { status: 400, body: json('invalid_request') }, REQUEST],
    ['400 unsupported_grant_type', { status: 400, body: json('unsupported_grant_type') }, REQUEST],
    ['an HTML 400', { status: 400, body: '<html><body><h1>400 Bad Request</h1></body></html>', headers: { 'Content-Type': 'text/html' } }, REQUEST],
    ['401 invalid_client', { status: 401, body: json('invalid_client') }, CREDENTIALS],
    ['400 unauthorized_client', { status: 400, body: json('unauthorized_client') }, CREDENTIALS],
  ] as const) {
    it(`${name}: ${words === CREDENTIALS ? 'the credentials' : 'a configuration problem at Shipica'}, reason lwa_client_error, 502`, async () => {
      h = await startHarness();
      h.lwa.fail(fault);
      const browser = new CookieClient();
      const page = await browser.get(await h.approve(browser, '42'));
      expect(page.status).toBe(502);
      expect(page.body).toContain('<code>lwa_client_error</code>');
      expect(page.body).toContain(words);
      if (words === REQUEST) expect(page.body).not.toContain('credentials');
      // A reload in the same browser says the same.
      const reload = await browser.get(page.seeOther ?? '');
      expect(reload.body).toContain(words);
    });
  }
});
