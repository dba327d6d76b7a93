import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, withParam, type Harness } from '../../support/harness.js';

/**
 * Runs the full website flow, failures included, with every log line captured, then looks for each secret the run
 * handled in the logs and in every page served: client secret, launch-link secret, encryption key, codes, refresh
 * and access tokens, states and browser-binding values.
 */
describe('no secret in logs or pages', () => {
  let h: Harness;
  const client = new CookieClient();
  const others = new CookieClient();
  /** Shipica's processes calling the access-token endpoint: its answers carry access tokens by design. */
  const api = new CookieClient();
  const seen = { codes: [] as string[], states: [] as string[] };

  async function approve(browser: CookieClient, customer: string, marketplace = 'US', seller?: string): Promise<string> {
    const callback = await h.approve(browser, customer, { marketplace, ...(seller ? { sellingPartnerId: seller } : {}) });
    const url = new URL(callback);
    seen.codes.push(url.searchParams.get('spapi_oauth_code') ?? '');
    seen.states.push(url.searchParams.get('state') ?? '');
    return callback;
  }

  beforeAll(async () => {
    h = await startHarness();
    // Success, reload, replays.
    const ok = await approve(client, 'scan-1');
    await client.get(ok);
    await client.get(ok);
    await others.get(ok);
    await client.get(withParam(ok, 'spapi_oauth_code', 'ANreplayedcode'));
    // Another browser presenting a state still open.
    await others.get(await approve(client, 'scan-9'));
    // Every LWA failure class.
    // Each fault queued as often as LWA is asked: once, or three times where the client retries.
    for (const [fault, times] of [
      [{ status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: 'The request has an invalid grant parameter : code' }) }, 1],
      [{ status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: 'Client authentication failed' }) }, 1],
      [{ status: 500, body: 'oops' }, 3],
      [{ status: 200, body: '{not json' }, 1],
    ] as const) {
      const callback = await approve(client, 'scan-2', 'DE');
      h.lwa.fail(...Array<typeof fault>(times).fill(fault));
      await client.get(callback);
    }
    const hung = await approve(client, 'scan-3', 'JP');
    h.lwa.fail({ hang: true });
    await client.get(hung);
    // Partner conflict, expiry, malformed input, bad launch links.
    await client.get(await approve(client, 'scan-4'));
    const expiring = await approve(client, 'scan-5', 'CA', 'A2SANDBOXSELLER2');
    h.clock.advance(601_000);
    await client.get(expiring);
    h.clock.advance(-601_000);
    await client.get(withParam(hung, 'selling_partner_id', undefined));
    await client.get(withParam(h.launchLink('scan-6'), 'sig', 'A'.repeat(43)));
    await client.get(`${h.origin}/api/health`);

    // The Login URI: a re-authorization of scan-1, and an Appstore install that passes through oxWebApp.
    const viaLoginUri = async (seller: string, scope: string, customer?: string) => {
      let res = await client.get(`${h.origin}/sandbox/sellercentral/apps/login-uri?selling_partner_id=${seller}&scope=${scope}`);
      for (let hop = 0; res.status === 302 && hop < 6; hop++) {
        const next = new URL(res.location ?? '');
        if (next.pathname === '/start/oxwebapp' && customer !== undefined) {
          next.pathname = '/start/oxwebapp/continue';
          next.searchParams.set('customer_id', customer);
          next.searchParams.set('marketplace', 'DE');
        }
        res = await client.get(next.toString());
      }
      const consent = /name="consent" value="([^"]+)"/.exec(res.body)?.[1] ?? '';
      const decided = await client.postForm(`${h.origin}/sandbox/sellercentral/apps/authorize/decide`, { consent, decision: 'confirm' });
      const callback = new URL(decided.location ?? '');
      seen.codes.push(callback.searchParams.get('spapi_oauth_code') ?? '');
      seen.states.push(callback.searchParams.get('state') ?? '');
      await client.get(callback.toString());
    };
    await viaLoginUri('A1SANDBOXSELLER1', 'NA');
    await viaLoginUri('A3SANDBOXSELLER3', 'EU', 'scan-7');
    await client.get(`${h.origin}/api/credentials`);

    // Access tokens: seeded, refreshed, unavailable, app-wide rejection, revoked.
    const token = (customer: string) => api.request(`${h.origin}/api/customers/${customer}/access-token?region=NA`, { method: 'POST' });
    await token('scan-1');
    h.clock.advance(3_550_000);
    await token('scan-1');
    h.clock.advance(3_550_000);
    h.lwa.fail({ status: 500, body: 'down' }, { status: 500, body: 'down' }, { status: 500, body: 'down' });
    await token('scan-1');
    h.lwa.sandbox.acceptClientSecrets('rotated-elsewhere');
    await token('scan-1');
    h.lwa.sandbox.acceptClientSecrets(h.secrets.clientSecret);
    h.lwa.sandbox.revokeSeller('A1SANDBOXSELLER1');
    await token('scan-1');
    await token('scan-1');
  });
  afterAll(async () => {
    await h.close();
  });

  it('handled the secrets it is scanning for', () => {
    expect(seen.codes.length).toBeGreaterThanOrEqual(8);
    expect(h.lwa.issuedTokens.filter((t) => t.startsWith('Atzr|')).length).toBeGreaterThanOrEqual(1);
    expect(h.logs.length).toBeGreaterThan(10);
    expect(h.logs.some((l) => l.includes('authorization failed'))).toBe(true);
  });

  it('went through every outcome it scripted', () => {
    expect(h.lwa.pendingFaults()).toBe(0);
    const reasons = [...client.bodies, ...others.bodies].map((b) => /<code>([a-z_]+)<\/code><\/small>/.exec(b)?.[1]).filter((r) => r !== undefined);
    for (const reason of ['already_used', 'browser_mismatch', 'code_rejected', 'lwa_client_error', 'lwa_unavailable', 'partner_conflict', 'state_expired', 'callback_invalid', 'signature_invalid']) {
      expect(reasons).toContain(reason);
    }
  });

  it('went through both Login-URI flows', async () => {
    const { store } = await h.services();
    expect((await store.findCredential('scan-7', 'EU'))?.status).toBe('authorized');
    const flows = (await store.listAttempts()).filter((a) => a.outcome === 'succeeded').map((a) => a.flow);
    expect(flows).toEqual(expect.arrayContaining(['reauthorize', 'appstore']));
  });

  it('went through every access-token outcome', () => {
    const errors = api.bodies.map((b) => (JSON.parse(b) as { error?: string }).error ?? 'ok');
    expect(errors).toEqual(['ok', 'ok', 'lwa_unavailable', 'lwa_client_rejected', 'authorization_revoked', 'authorization_revoked']);
  });

  it('finds none of them in any log line or page', () => {
    const bindings = [...client.jar.values(), ...others.jar.values()].map((c) => c.value);
    const secrets: Array<[string, string]> = [
      ['client secret', h.secrets.clientSecret],
      ['launch link secret', h.secrets.launchLinkSecret],
      ['token encryption key', h.secrets.tokenKey],
      ...seen.codes.map((v): [string, string] => ['authorization code', v]),
      ...seen.states.map((v): [string, string] => ['state', v]),
      ...h.lwa.issuedTokens.map((v): [string, string] => ['LWA token', v]),
      ...bindings.map((v): [string, string] => ['browser binding', v]),
    ];
    const haystacks: Array<[string, string]> = [
      ...h.logs.map((l, i): [string, string] => [`log line ${i}`, l]),
      ...client.bodies.concat(others.bodies).map((b, i): [string, string] => [`page ${i}`, b]),
    ];
    const leaks = secrets.flatMap(([kind, secret]) =>
      secret.length < 8 ? [] : haystacks.filter(([, text]) => text.includes(secret)).map(([where]) => `${kind} in ${where}`),
    );
    expect(leaks).toEqual([]);
  });

  it('the access-token endpoint answers with access tokens only: no refresh token, code or secret', () => {
    const refreshTokens = h.lwa.issuedTokens.filter((t) => t.startsWith('Atzr|'));
    const forbidden = [h.secrets.clientSecret, h.secrets.launchLinkSecret, h.secrets.tokenKey, ...seen.codes, ...seen.states, ...refreshTokens];
    expect(api.bodies.filter((b) => forbidden.some((secret) => b.includes(secret)))).toEqual([]);
    expect(api.bodies.some((b) => b.includes('Atza|'))).toBe(true);
  });
});
