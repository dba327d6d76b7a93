import { afterEach, describe, expect, it } from 'vitest';
import { FORCED_REFRESH_REUSE_MS } from '../../../src/accessTokens/leaseDecision.js';
import { opsCommand } from '../../../src/cli/ops.js';
import { CookieClient, type Exchange } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';

/**
 * A revoked row that still holds its sealed refresh token is proven again for 30 days (LWA has refused valid tokens
 * during its own incidents, amzn/selling-partner-api-docs#2379): by the daily sweep and by `ops recheck`. LWA
 * accepting it authorizes the row again with authorization.restored; the revocation stays in the attempts.
 */
let h: Harness;
afterEach(async () => {
  await h.close();
});

const DAY_MS = 86_400_000;
const api = new CookieClient();
const post = (path: string) => api.request(`${h.origin}${path}`, { method: 'POST' });
const json = (res: Exchange): Record<string, unknown> => JSON.parse(res.body) as Record<string, unknown>;
const refreshGrants = () => h.lwa.received.filter((f) => f.get('grant_type') === 'refresh_token').length;
const SPURIOUS = { status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: 'The request has an invalid grant parameter : refresh_token' }) };

async function authorizedSeller(): Promise<void> {
  h = await startHarness();
  const browser = new CookieClient();
  expect((await browser.get(await h.approve(browser, '42'))).status).toBe(200);
}

/** Past the window in which a forced refresh is served the token just made (here: the code exchange's). */
const pastReuseWindow = () => h.clock.advance(FORCED_REFRESH_REUSE_MS + 1);

/** One refresh that LWA answers invalid_grant: the row turns revoked, and the next request is a 409 without LWA. */
async function spuriouslyRevoked(): Promise<void> {
  pastReuseWindow();
  h.lwa.fail(SPURIOUS);
  expect((await post('/api/customers/42/access-token?refresh=true')).status).toBe(409);
  const grants = refreshGrants();
  expect((await post('/api/customers/42/access-token')).status).toBe(409);
  expect(refreshGrants()).toBe(grants);
}

describe('a spurious invalid_grant', () => {
  it('is undone by the next sweep: the row is authorized again with authorization.restored, and the revocation stays in its attempts', async () => {
    await authorizedSeller();
    await spuriouslyRevoked();
    const { store, sweep } = await h.services();
    const revoked = await store.findCredential('42', 'NA');
    expect([revoked?.status, revoked?.revokedAt instanceof Date, revoked?.hasRefreshToken]).toEqual(['revoked', true, true]);

    h.clock.advance(DAY_MS);
    const summary = await sweep.run();
    expect(summary.restored).toBe(1);
    expect(summary.sellers.map((s) => [s.customerId, s.outcome, s.restored])).toEqual([['42', 'verified', true]]);

    const row = await store.findCredential('42', 'NA');
    expect([row?.status, row?.revokedAt, row?.authGrantedDate]).toEqual(['authorized', null, revoked?.authGrantedDate]);
    expect((await store.listEvents({ customerId: '42' })).map((e) => e.type)).toEqual(['authorization.granted', 'authorization.revoked', 'authorization.restored']);
    const refreshes = (await store.listAttempts({ customerId: '42' })).filter((a) => a.flow === 'refresh').map((a) => [a.outcome, a.reason]);
    expect(refreshes).toEqual(expect.arrayContaining([['failed', 'authorization_revoked'], ['succeeded', 'revocation_withdrawn']]));
    const token = await post('/api/customers/42/access-token');
    expect([token.status, json(token)['scope']]).toEqual([200, 'NA']);
  });

  it('is undone by ops recheck at once (exit 0), which says what LWA answered', async () => {
    await authorizedSeller();
    await spuriouslyRevoked();
    const lines: string[] = [];
    expect(await opsCommand(['recheck', '--customer', '42', '--region', 'NA'], h.values, h.clock.now(), (line) => lines.push(line))).toBe(0);
    expect(lines.filter((line) => !line.startsWith('{'))).toEqual([
      'customer 42 in NA: LWA accepted the refresh token: the row is authorized again (authorization.restored); the revocation stays in its attempts',
    ]);
    expect((await (await h.services()).store.findCredential('42', 'NA'))?.status).toBe('authorized');
  });
});

describe('a revocation the seller made', () => {
  it('stays revoked when the sweep proves the token again: no event, the check says revoked', async () => {
    await authorizedSeller();
    h.lwa.sandbox.revokeSeller('A1SANDBOXSELLER1');
    const { store, sweep } = await h.services();
    pastReuseWindow();
    expect((await post('/api/customers/42/access-token?refresh=true')).status).toBe(409);
    h.clock.advance(DAY_MS);
    const grants = refreshGrants();
    const summary = await sweep.run();
    expect(refreshGrants()).toBe(grants + 1);
    expect([summary.restored, summary.counts.revoked]).toEqual([0, 1]);
    expect((await store.findCredential('42', 'NA'))?.status).toBe('revoked');
    expect((await store.listEvents({ customerId: '42' })).map((e) => e.type)).toEqual(['authorization.granted', 'authorization.revoked']);
    expect((await store.listCredentialChecks({ customerId: '42' }))[0]?.checkOutcome).toBe('revoked');

    const lines: string[] = [];
    expect(await opsCommand(['recheck', '--customer', '42', '--region', 'NA'], h.values, h.clock.now(), (line) => lines.push(line))).toBe(1);
    expect(lines.filter((line) => !line.startsWith('{'))).toEqual([
      'customer 42 in NA: LWA refused the refresh token again (invalid_grant): the row stays revoked; only a new consent by the seller brings it back',
    ]);
  });

  it('is proven again for 30 days only: after that the sweep no longer asks LWA about it', async () => {
    await authorizedSeller();
    h.lwa.sandbox.revokeSeller('A1SANDBOXSELLER1');
    pastReuseWindow();
    expect((await post('/api/customers/42/access-token?refresh=true')).status).toBe(409);
    const { sweep } = await h.services();
    h.clock.advance(29 * DAY_MS);
    let grants = refreshGrants();
    await sweep.run();
    expect(refreshGrants()).toBe(grants + 1);
    h.clock.advance(DAY_MS + 60_000);
    grants = refreshGrants();
    const summary = await sweep.run();
    expect([refreshGrants(), summary.rows]).toEqual([grants, 0]);
  });
});

describe('ops recheck', () => {
  it('names a Far East credential by marketplace, refuses --region FE, and says when there is nothing to recheck', async () => {
    await authorizedSeller();
    const lines: string[] = [];
    const run = (...argv: string[]) => opsCommand(['recheck', ...argv], h.values, h.clock.now(), (line) => lines.push(line));
    expect(await run('--customer', '42', '--region', 'NA')).toBe(1);
    expect(lines.at(-1)).toBe('customer 42 in NA: the row is not revoked: nothing to recheck');
    expect(await run('--customer', '42', '--region', 'FE')).toBe(2);
    expect(lines).toContain('ops: recheck: the Far East is authorized per marketplace: name it with --marketplace JP, AU or SG');
    expect(await run('--customer', '42', '--marketplace', 'JP')).toBe(1);
    expect(lines.at(-1)).toBe('customer 42 in JP: the row is not revoked: nothing to recheck');
  });
});
