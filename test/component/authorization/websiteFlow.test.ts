import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CookieClient } from '../../support/cookieClient.js';
import { APPLICATION_ID, startHarness, withParam, type Harness } from '../../support/harness.js';

/** The website workflow through the local host, as a browser and oxWebApp drive it. */
let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const codeRequests = () => h.lwa.received.filter((f) => f.get('grant_type') === 'authorization_code').length;

describe('AuthorizeStart', () => {
  it('records a pending row and an attempt, binds the browser and redirects to the consent page', async () => {
    const client = new CookieClient();
    const res = await client.get(h.launchLink('42', 'DE'));

    expect(res.status).toBe(302);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const consent = new URL(res.location ?? '');
    expect(`${consent.origin}${consent.pathname}`).toBe(`${h.origin}/sandbox/sellercentral/apps/authorize/consent`);
    expect([...consent.searchParams.keys()]).toEqual(['application_id', 'state', 'redirect_uri']);
    expect(consent.searchParams.get('application_id')).toBe(APPLICATION_ID);
    expect(consent.searchParams.get('redirect_uri')).toBe(`${h.origin}/api/lwa-callback`);
    expect(consent.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);

    expect(res.setCookies).toHaveLength(1);
    const cookie = [...client.jar.values()][0];
    expect(cookie).toMatchObject({ path: '/api', httpOnly: true, sameSite: 'lax', maxAge: 4200, secure: false });
    expect(cookie?.name).toMatch(/^spapi_auth_[0-9a-f]{16}$/);

    const { store } = await h.services();
    const row = await store.findCredential('42', 'EU');
    expect(row).toMatchObject({ status: 'pending', marketplace: 'DE', lwaRefreshToken: null });
    expect(row?.authRequestedDate).toBeInstanceOf(Date);
    const attempts = await store.listAttempts({ customerId: '42' });
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ flow: 'website', scope: 'EU', region: 'EU', marketplace: 'DE', outcome: 'pending', consumedAt: null });
    // Only the state's hash is stored.
    const state = consent.searchParams.get('state') ?? '';
    expect(JSON.stringify(attempts)).not.toContain(state);
    expect(attempts[0]?.expiresAt?.getTime()).toBe((attempts[0]?.createdAt.getTime() ?? 0) + 600_000);
  });

  it('adds version=beta to the consent URL only for a Draft app', async () => {
    await h.close();
    h = await startHarness({ SPAPI_DRAFT_APP: 'true' });
    const res = await new CookieClient().get(h.launchLink('42'));
    expect(new URL(res.location ?? '').searchParams.get('version')).toBe('beta');
  });

  const refusals: Array<[string, (h: Harness) => string, string]> = [
    ['missing sig', (h) => withParam(h.launchLink('42'), 'sig', undefined), 'signature_missing'],
    ['wrong sig', (h) => withParam(h.launchLink('42'), 'sig', 'A'.repeat(43)), 'signature_invalid'],
    ['tampered customer', (h) => withParam(h.launchLink('42'), 'customer_id', '43'), 'signature_invalid'],
    ['tampered marketplace', (h) => withParam(h.launchLink('42', 'US'), 'marketplace', 'DE'), 'signature_invalid'],
    ['expired', (h) => h.launchLink('42', 'US', Math.floor(Date.now() / 1000) - 1), 'link_expired'],
    ['expires more than 1 hour ahead', (h) => h.launchLink('42', 'US', Math.floor(Date.now() / 1000) + 3700), 'expires_too_far'],
    ['unknown marketplace', (h) => h.launchLink('42', 'XX'), 'marketplace_unknown'],
    ['empty customer id', (h) => h.launchLink(''), 'customer_id_invalid'],
    ['customer id over 64 characters', (h) => h.launchLink('c'.repeat(65)), 'customer_id_invalid'],
    ['customer id with a control character', (h) => h.launchLink('42\n'), 'customer_id_invalid'],
    ['repeated field', (h) => `${h.launchLink('42')}&customer_id=43`, 'link_incomplete'],
  ];
  it.each(refusals)('refuses a link with %s: 400 page, nothing written', async (_name, link, reason) => {
    const res = await new CookieClient().get(link(h));
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.body).toContain(`<code>${reason}</code>`);
    expect(res.setCookies).toEqual([]);
    const { store } = await h.services();
    expect(await store.listCredentials()).toEqual([]);
    expect(await store.listAttempts()).toEqual([]);
  });
});

describe('LWACallback', () => {
  it('exchanges the code once and stores the refresh token encrypted: the happy path', async () => {
    const client = new CookieClient();
    const callback = await h.approve(client, '42', { marketplace: 'UK' });
    const callbackUrl = new URL(callback);
    expect(callbackUrl.pathname).toBe('/api/lwa-callback');
    expect(callbackUrl.searchParams.get('selling_partner_id')).toBe('A1SANDBOXSELLER1');

    const res = await client.get(callback);
    expect(res.status).toBe(200);
    expect(res.body).toContain('Shipica is authorized');
    expect(res.body).toContain('<code>A1SANDBOXSELLER1</code> in Europe.');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.body).not.toMatch(/<script/i);

    expect(codeRequests()).toBe(1);
    const sent = h.lwa.received[0];
    expect(sent?.get('redirect_uri')).toBe(`${h.origin}/api/lwa-callback`);
    expect(sent?.get('code')).toBe(callbackUrl.searchParams.get('spapi_oauth_code'));

    const { store, cipher } = await h.services();
    const row = await store.findCredential('42', 'EU');
    expect(row).toMatchObject({ status: 'authorized', sellingPartnerId: 'A1SANDBOXSELLER1', marketplace: 'UK', lastError: null });
    expect(row?.authGrantedDate).toBeInstanceOf(Date);
    expect(row?.lwaRefreshTokenDate).toBeInstanceOf(Date);
    const refreshToken = h.lwa.issuedTokens.find((t) => t.startsWith('Atzr|'));
    expect(refreshToken).toBeDefined();
    expect(row?.lwaRefreshToken).toMatch(/^v1:test1:/);
    expect(row?.lwaRefreshToken).not.toContain(refreshToken);
    expect(row?.lwaRefreshToken).not.toContain('Atzr');
    expect(cipher.decrypt(row?.lwaRefreshToken ?? '', { column: 'lwa_refresh_token', customerId: '42', region: 'EU' })).toBe(refreshToken);
    // The seed's step 1: the code is on the row, encrypted too.
    expect(row?.spapiOauthCode).toMatch(/^v1:test1:/);
    expect(cipher.decrypt(row?.spapiOauthCode ?? '', { column: 'spapi_oauth_code', customerId: '42', region: 'EU' })).toBe(
      callbackUrl.searchParams.get('spapi_oauth_code'),
    );
    const attempts = await store.listAttempts({ customerId: '42' });
    expect(attempts.map((a) => [a.outcome, a.reason])).toEqual([['succeeded', null]]);
  });

  it('records mws_auth_token when Amazon sends it, sealed like the code: never in plain text in the store file', async () => {
    const client = new CookieClient();
    const callback = await h.approve(client, '42');
    const mws = 'amzn.mws.4ea38b7b-f563-7709-4bae-87aeaEXAMPLE';
    expect((await client.get(withParam(callback, 'mws_auth_token', mws))).status).toBe(200);
    const { store, cipher } = await h.services();
    const stored = (await store.findCredential('42', 'NA'))?.mwsAuthToken ?? '';
    expect(stored).toMatch(/^v1:test1:/);
    expect(cipher.decrypt(stored, { column: 'mws_auth_token', customerId: '42', region: 'NA' })).toBe(mws);
    const file = ['', '-wal'].map((suffix) => readFileSync(`${String(h.values['LOCAL_DB_PATH'])}${suffix}`, 'latin1')).join('');
    expect(file).not.toContain(mws);
    expect(file).not.toContain('4ea38b7b');
  });

  it('shows success again on reload without a second exchange', async () => {
    const client = new CookieClient();
    const callback = await h.approve(client, '42');
    expect((await client.get(callback)).status).toBe(200);
    const again = await client.get(callback);
    expect(again.status).toBe(200);
    expect(again.body).toContain('Shipica is authorized');
    expect(codeRequests()).toBe(1);
  });

  it('makes exactly one exchange and one row for 50 concurrent identical callbacks', async () => {
    const client = new CookieClient();
    const callback = await h.approve(client, '42');
    const results = await Promise.all(Array.from({ length: 50 }, () => client.get(callback)));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(codeRequests()).toBe(1);
    const { store } = await h.services();
    expect(await store.listCredentials()).toHaveLength(1);
    const attempts = await store.listAttempts();
    expect(attempts.filter((a) => a.outcome === 'succeeded')).toHaveLength(1);
    expect(attempts).toHaveLength(1);
  });

  describe('refusals: a clear page, the attempt recorded (when it names one), no exchange, the row as it was', () => {
    /** `recorded: false`: the callback names no attempt we issued, so nothing is stored (the audit stays bounded). */
    async function expectRefused(res: { status: number; body: string }, reason: string, before: unknown, recorded = true): Promise<void> {
      expect(res.status).toBe(400);
      expect(res.body).toContain(`<code>${reason}</code>`);
      expect(codeRequests()).toBe(0);
      const { store } = await h.services();
      expect(await store.listCredentials()).toEqual(before);
      const refused = (await store.listAttempts()).filter((a) => a.flow === 'callback');
      expect(refused.map((a) => a.reason)).toEqual(recorded ? [reason] : []);
    }
    const rows = async () => (await h.services()).store.listCredentials();

    it('state unknown', async () => {
      const client = new CookieClient();
      const callback = await h.approve(client, '42');
      const before = await rows();
      await expectRefused(await client.get(withParam(callback, 'state', 'B'.repeat(43))), 'state_invalid', before, false);
    });

    it('browser cookie missing (another browser)', async () => {
      const callback = await h.approve(new CookieClient(), '42');
      const before = await rows();
      await expectRefused(await new CookieClient().get(callback), 'browser_mismatch', before);
    });

    it('browser cookie does not match', async () => {
      const client = new CookieClient();
      const callback = await h.approve(client, '42');
      for (const cookie of client.jar.values()) cookie.value = 'x'.repeat(43);
      const before = await rows();
      await expectRefused(await client.get(callback), 'browser_mismatch', before);
    });

    it('state expired', async () => {
      const client = new CookieClient();
      const callback = await h.approve(client, '42');
      h.clock.advance(601_000);
      const before = await rows();
      await expectRefused(await client.get(callback), 'state_expired', before);
    });

    it.each([
      ['missing code', (u: string) => withParam(u, 'spapi_oauth_code', undefined), true],
      ['missing selling_partner_id', (u: string) => withParam(u, 'selling_partner_id', undefined), true],
      ['missing state', (u: string) => withParam(u, 'state', undefined), false],
      ['oversized code', (u: string) => withParam(u, 'spapi_oauth_code', 'A'.repeat(513)), true],
      ['malformed selling_partner_id', (u: string) => withParam(u, 'selling_partner_id', 'A1<script>'), true],
      ['repeated code', (u: string) => `${u}&spapi_oauth_code=second`, true],
    ])('%s', async (_name, mangle, recorded) => {
      const client = new CookieClient();
      const callback = await h.approve(client, '42');
      const before = await rows();
      await expectRefused(await client.get(mangle(callback)), 'callback_invalid', before, recorded);
    });

    it('a vendor id (amzn1.vg.…) is understood and refused as vendor_not_supported, with no exchange', async () => {
      const client = new CookieClient();
      const callback = await h.approve(client, '42');
      const before = await rows();
      await expectRefused(await client.get(withParam(callback, 'selling_partner_id', 'amzn1.vg.1234567')), 'vendor_not_supported', before);
    });
  });

  describe('a state that was already used', () => {
    const rows = async () => (await h.services()).store.listCredentials();

    it('Back + Confirm after success, in the same browser (another code): the success page again, no second exchange', async () => {
      const client = new CookieClient();
      const callback = await h.approve(client, '42');
      expect((await client.get(callback)).status).toBe(200);
      const before = await rows();
      const replay = await client.get(withParam(callback, 'spapi_oauth_code', 'ANanothercode'));
      expect(replay.status).toBe(200);
      expect(replay.body).toContain('Shipica is authorized');
      expect(codeRequests()).toBe(1);
      expect(await rows()).toEqual(before);
      // The replay is audited against the attempt, but the ops view's last attempt is still the success.
      const { store } = await h.services();
      const [status] = await store.listCredentialStatus({ customerId: '42' }, h.clock.now());
      expect([status?.lastAttemptOutcome, status?.lastAttemptReason]).toEqual(['succeeded', null]);
      expect((await store.listAttempts()).filter((a) => a.flow === 'callback').map((a) => a.reason)).toEqual(['state_replayed']);
    });

    it('in another browser: a neutral "already used" page (200, never a red failure), no exchange, nothing about its outcome', async () => {
      const client = new CookieClient();
      const callback = await h.approve(client, '42');
      expect((await client.get(callback)).status).toBe(200);
      const replay = await new CookieClient().get(callback);
      expect(replay.status).toBe(200);
      expect(replay.body).toContain('This authorization link was already used');
      expect(replay.body).toContain('there is nothing more to do');
      expect(replay.body).not.toContain('class="err"');
      expect(replay.body).not.toContain('A1SANDBOXSELLER1');
      expect(codeRequests()).toBe(1);
    });
  });

  describe('LWA failures', () => {
    async function failWith(...faults: Parameters<Harness['lwa']['fail']>): Promise<{ status: number; body: string }> {
      const client = new CookieClient();
      const callback = await h.approve(client, '42');
      h.lwa.fail(...faults);
      return client.get(callback);
    }
    const row = async () => (await h.services()).store.findCredential('42', 'NA');

    it('400 invalid_grant: code_rejected, not retried', async () => {
      const res = await failWith({ status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: 'The request has an invalid grant parameter : code' }) });
      expect(res.status).toBe(400);
      expect(res.body).toContain('<code>code_rejected</code>');
      expect(codeRequests()).toBe(1);
      expect(await row()).toMatchObject({ status: 'failed', lwaRefreshToken: null, lastError: 'code_rejected (invalid_grant: The request has an invalid grant parameter : code)' });
      const attempts = await (await h.services()).store.listAttempts();
      expect(attempts[0]).toMatchObject({ outcome: 'failed', reason: 'code_rejected', lwaError: 'invalid_grant' });
    });

    it('401 invalid_client: lwa_client_error, logged once as an app-wide incident for Shipica', async () => {
      const res = await failWith({ status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: 'Client authentication failed' }) });
      expect(res.status).toBe(502);
      expect(res.body).toContain('<code>lwa_client_error</code>');
      expect(codeRequests()).toBe(1);
      expect((await row())?.status).toBe('failed');
      const errors = h.logs.filter((l) => l.includes('"level":"error"'));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('incident started: ');
      expect(errors[0]).toContain('"incident":"lwa_client_rejected"');
      expect(errors[0]).toContain('LWA_CLIENT_SECRET');
    });

    it('500 then success: retried within the code life and authorized', async () => {
      const res = await failWith({ status: 500, body: JSON.stringify({ error: 'server_error' }) });
      expect(res.status).toBe(200);
      expect(codeRequests()).toBe(2);
      expect((await row())?.status).toBe('authorized');
    });

    it('500 every time: lwa_unavailable after the bounded retries', async () => {
      const fault = { status: 500, body: JSON.stringify({ error: 'ServerError' }) };
      const res = await failWith(fault, fault, fault, fault);
      expect(res.status).toBe(503);
      expect(res.body).toContain('<code>lwa_unavailable</code>');
      expect(codeRequests()).toBe(3);
      expect(await row()).toMatchObject({ status: 'failed', lastError: 'lwa_unavailable (ServerError)' });
    });

    it('timeout: lwa_unavailable, the code not sent again (it may be spent)', async () => {
      const res = await failWith({ hang: true });
      expect(res.status).toBe(503);
      expect(res.body).toContain('<code>lwa_unavailable</code>');
      expect(codeRequests()).toBe(1);
    });

    it('malformed JSON on 200: lwa_unavailable, not retried (the code may be spent)', async () => {
      const res = await failWith({ status: 200, body: '{"access_token": "Atza|x", "token_type": "bearer"' });
      expect(res.status).toBe(503);
      expect(res.body).toContain('<code>lwa_unavailable</code>');
      expect(codeRequests()).toBe(1);
    });

    it('a failed re-authorization keeps the working refresh token', async () => {
      const first = new CookieClient();
      expect((await first.get(await h.approve(first, '42'))).status).toBe(200);
      const { store } = await h.services();
      const working = await store.findCredential('42', 'NA');

      const second = new CookieClient();
      const callback = await h.approve(second, '42');
      expect((await store.findCredential('42', 'NA'))?.status).toBe('authorized');
      h.lwa.fail({ status: 400, body: JSON.stringify({ error: 'invalid_grant' }) });
      expect((await second.get(callback)).status).toBe(400);

      const after = await store.findCredential('42', 'NA');
      expect(after).toMatchObject({ status: 'authorized', lwaRefreshToken: working?.lwaRefreshToken, lastError: 'code_rejected (invalid_grant)' });
    });
  });

  it('refuses a seller already authorized for another customer in the scope: partner_conflict, no exchange', async () => {
    const a = new CookieClient();
    expect((await a.get(await h.approve(a, 'A'))).status).toBe(200);
    const b = new CookieClient();
    const res = await b.get(await h.approve(b, 'B'));
    expect(res.status).toBe(409);
    expect(res.body).toContain('<code>partner_conflict</code>');
    expect(codeRequests()).toBe(1);
    const { store } = await h.services();
    expect(await store.findCredential('B', 'NA')).toMatchObject({ status: 'failed', sellingPartnerId: null, lastError: 'partner_conflict' });
    expect(await store.findCredential('A', 'NA')).toMatchObject({ status: 'authorized', sellingPartnerId: 'A1SANDBOXSELLER1' });

    // The same seller in another scope is another authorization.
    const c = new CookieClient();
    expect((await c.get(await h.approve(c, 'B', { marketplace: 'DE' }))).status).toBe(200);
  });

  it('redirects to AUTH_RESULT_URL with status, reason and marketplace when it is set', async () => {
    await h.close();
    h = await startHarness({ AUTH_RESULT_URL: 'https://app.shipica.example/amazon/authorized?from=spapi' });
    const client = new CookieClient();
    const callback = await h.approve(client, '42', { marketplace: 'CA' });
    const ok = await client.get(callback);
    expect(ok.status).toBe(302);
    expect(ok.location).toBe('https://app.shipica.example/amazon/authorized?from=spapi&status=authorized&marketplace=CA');

    const used = await new CookieClient().get(callback);
    expect(used.status).toBe(302);
    expect(used.location).toBe('https://app.shipica.example/amazon/authorized?from=spapi&status=already_used&reason=already_used&marketplace=CA');

    const other = new CookieClient();
    const late = await h.approve(other, '43', { marketplace: 'CA', sellingPartnerId: 'A2SANDBOXSELLER2' });
    h.clock.advance(601_000);
    const expired = await other.get(late);
    expect(expired.location).toBe('https://app.shipica.example/amazon/authorized?from=spapi&status=error&reason=state_expired&marketplace=CA');
  });
});
