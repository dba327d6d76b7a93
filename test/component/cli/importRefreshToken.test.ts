import { afterEach, describe, expect, it } from 'vitest';
import { opsCommand } from '../../../src/cli/ops.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';

/** `npm run ops -- import-refresh-token`: a self-authorized (private app) refresh token, from standard input only. */
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function importing(harness: Harness, stdin: string, ...argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await opsCommand(['import-refresh-token', ...argv], harness.values, harness.clock.now(), (l) => lines.push(l), async () => false, undefined, async () => stdin);
  return { code, lines };
}

const nothingWritten = async (harness: Harness) => {
  const { store } = await harness.services();
  return { credentials: await store.listCredentials(), attempts: await store.listAttempts(), events: await store.listEvents() };
};

describe('npm run ops -- import-refresh-token', () => {
  it('stores a good token as authorized, and POST /api/customers/{id}/access-token then serves access tokens from it', async () => {
    const harness = await startHarness();
    h = harness;
    const token = harness.lwa.sandbox.selfAuthorize('A1SANDBOXSELLER1');
    const { code, lines } = await importing(harness, `${token}\n`, '--customer', '77', '--marketplace', 'US', '--selling-partner-id', 'A1SANDBOXSELLER1');
    expect(code).toBe(0);
    expect(lines.at(-1)).toBe(
      'imported: customer 77 in NA, seller A1SANDBOXSELLER1, sells in US,CA,MX,BR (Sandbox Seller One); stored encrypted as authorized (attempt self_authorization, event authorization.granted)',
    );
    const res = await new CookieClient().request(`${harness.origin}/api/customers/77/access-token`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ customer_id: '77', selling_partner_id: 'A1SANDBOXSELLER1', region: 'NA' });
    const { store } = await harness.services();
    expect((await store.listAttempts({ customerId: '77' })).map((a) => [a.flow, a.outcome])).toEqual([['self_authorization', 'succeeded']]);
    expect((await store.listEvents({ customerId: '77' })).map((e) => e.type)).toEqual(['authorization.granted']);
    expect((await store.findCredential('77', 'NA'))?.lwaRefreshToken).not.toContain(token.slice(5, 40));
  });

  it('never shows the token: not in the output, not in a log line, whatever the outcome', async () => {
    const harness = await startHarness();
    h = harness;
    const good = harness.lwa.sandbox.selfAuthorize('A2SANDBOXSELLER2');
    const revoked = harness.lwa.sandbox.selfAuthorize('A3SANDBOXSELLER3');
    harness.lwa.sandbox.revokeSeller('A3SANDBOXSELLER3');
    const out = [
      ...(await importing(harness, good, '--customer', '78', '--marketplace', 'US', '--selling-partner-id', 'A2SANDBOXSELLER2')).lines,
      ...(await importing(harness, revoked, '--customer', '79', '--marketplace', 'US', '--selling-partner-id', 'A3SANDBOXSELLER3')).lines,
      ...(await importing(harness, `${good} extra`, '--customer', '80', '--marketplace', 'US', '--selling-partner-id', 'A2SANDBOXSELLER2')).lines,
    ].join('\n') + harness.logs.join('\n');
    for (const token of [good, revoked]) {
      expect(out).not.toContain(token);
      expect(out).not.toContain(token.slice(5, 30));
    }
  });

  it('refuses a token given as an argument, and does not echo it', async () => {
    const harness = await startHarness();
    h = harness;
    const token = harness.lwa.sandbox.selfAuthorize('A1SANDBOXSELLER1');
    const { code, lines } = await importing(harness, '', '--customer', '77', '--marketplace', 'US', token);
    expect(code).toBe(2);
    expect(lines[0]).toBe('ops: the refresh token is read from standard input, never from an argument');
    expect(lines.join('\n')).not.toContain(token);
  });

  it('refuses a token pasted as the value of an option, with the standard-input message, without echoing it or writing anything', async () => {
    const harness = await startHarness();
    h = harness;
    const token = harness.lwa.sandbox.selfAuthorize('A1SANDBOXSELLER1');
    for (const argv of [
      ['--customer', '77', '--marketplace', token, '--selling-partner-id', 'A1SANDBOXSELLER1'],
      ['--customer', '77', '--marketplace', 'US', '--selling-partner-id', token],
    ]) {
      const { code, lines } = await importing(harness, token, ...argv);
      expect(code).toBe(2);
      expect(lines[0]).toBe('ops: the refresh token is read from standard input, never from an argument');
      expect(lines.join('\n')).not.toContain(token.slice(5, 30));
    }
    expect(harness.lwa.received.length).toBe(0);
    expect(await nothingWritten(harness)).toEqual({ credentials: [], attempts: [], events: [] });
  });

  it('refuses an unknown marketplace without repeating what was typed (it may be a pasted secret)', async () => {
    const harness = await startHarness();
    h = harness;
    const { code, lines } = await importing(harness, 'Atzr|0123456789abcdefghij', '--customer', '77', '--marketplace', 'SECRET-LOOKING-VALUE-123', '--selling-partner-id', 'A1SANDBOXSELLER1');
    expect(code).toBe(1);
    expect(lines.join('\n')).toContain('marketplace_unknown');
    expect(lines.join('\n')).not.toContain('SECRET-LOOKING-VALUE-123');
  });

  it('refuses what is not shaped like an LWA refresh token, asks LWA nothing and writes nothing', async () => {
    const harness = await startHarness();
    h = harness;
    const before = await nothingWritten(harness);
    const grants = harness.lwa.received.length;
    for (const bad of ['Atza|an-access-token-not-a-refresh-token', 'amzn1.oa2-cs.v1.clientsecret', 'Atzr|with a space inside it here']) {
      const { code, lines } = await importing(harness, bad, '--customer', '77', '--marketplace', 'US', '--selling-partner-id', 'A1SANDBOXSELLER1');
      expect([code, lines[0]?.startsWith('ops: token_malformed:')]).toEqual([1, true]);
    }
    expect(harness.lwa.received.length).toBe(grants);
    expect(await nothingWritten(harness)).toEqual(before);
  });

  it('refuses a token LWA rejects (invalid_grant) after exactly one grant, writing nothing', async () => {
    const harness = await startHarness();
    h = harness;
    const token = harness.lwa.sandbox.selfAuthorize('A1SANDBOXSELLER1');
    harness.lwa.sandbox.revokeSeller('A1SANDBOXSELLER1');
    const before = await nothingWritten(harness);
    const grants = harness.lwa.received.length;
    const { code, lines } = await importing(harness, token, '--customer', '77', '--marketplace', 'US', '--selling-partner-id', 'A1SANDBOXSELLER1');
    expect([code, lines[0]?.startsWith('ops: token_rejected:')]).toEqual([1, true]);
    expect(harness.lwa.received.length - grants).toBe(1);
    expect(await nothingWritten(harness)).toEqual(before);
  });

  it("refuses to overwrite another seller's authorized row (partner_changed), says so, and keeps the row", async () => {
    const harness = await startHarness();
    h = harness;
    const browser = new CookieClient();
    expect((await browser.get(await harness.approve(browser, '77', { sellingPartnerId: 'A1SANDBOXSELLER1' }))).status).toBe(200);
    const before = await nothingWritten(harness);
    const token = harness.lwa.sandbox.selfAuthorize('A2SANDBOXSELLER2');
    const { code, lines } = await importing(harness, token, '--customer', '77', '--marketplace', 'US', '--selling-partner-id', 'A2SANDBOXSELLER2');
    expect(code).toBe(1);
    expect(lines[0]).toBe('ops: partner_changed: customer 77 is authorized in NA for another seller (…LER1), not …LER2: unlink it first (npm run ops -- unlink); nothing was stored');
    expect(await nothingWritten(harness)).toEqual(before);
  });

  it('refuses a token whose seller does not sell in the marketplace (SP-API says another region), writing nothing', async () => {
    const harness = await startHarness();
    h = harness;
    harness.spApi.setMode('A1SANDBOXSELLER1', 'other_region');
    const before = await nothingWritten(harness);
    const token = harness.lwa.sandbox.selfAuthorize('A1SANDBOXSELLER1');
    const { code, lines } = await importing(harness, token, '--customer', '77', '--marketplace', 'US', '--selling-partner-id', 'A1SANDBOXSELLER1');
    expect([code, lines[0]?.startsWith('ops: marketplace_not_participating:')]).toEqual([1, true]);
    expect(await nothingWritten(harness)).toEqual(before);
  });

  it('asks for --selling-partner-id when it is missing, before asking LWA anything', async () => {
    const harness = await startHarness();
    h = harness;
    const grants = harness.lwa.received.length;
    const { code, lines } = await importing(harness, harness.lwa.sandbox.selfAuthorize('A1SANDBOXSELLER1'), '--customer', '77', '--marketplace', 'US');
    expect([code, lines[0]?.startsWith('ops: selling_partner_id_required:')]).toEqual([1, true]);
    expect(harness.lwa.received.length).toBe(grants);
  });
});
