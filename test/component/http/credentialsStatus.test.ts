import { afterEach, describe, expect, it } from 'vitest';
import { opsCommand } from '../../../src/cli/ops.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { authorizeOnWebsite } from '../../support/steps.js';
import { CREDENTIAL_ROW_KEYS } from '../../support/credentialsJson.js';

/**
 * The ops listing over HTTP (CredentialsStatus, GET /api/credentials): every authorization with its 365-day deadline,
 * filtered by expiry, no secret, and field for field what `npm run ops -- status --json` prints. Through the local host.
 */
let h: Harness;
afterEach(async () => {
  await h.close();
});

const DAY = 86_400_000;
const authorize = (customer: string, sellingPartnerId: string) => authorizeOnWebsite(h, customer, sellingPartnerId);

describe('GET /api/credentials (CredentialsStatus)', () => {
  it('lists every authorization with its 365-day deadline, filters by expiry, and shows no secret', async () => {
    h = await startHarness();
    await authorize('old', 'A1SANDBOXSELLER1');
    h.clock.advance(350 * DAY);
    await authorize('new', 'A2SANDBOXSELLER2');
    const api = new CookieClient();
    const all = await api.get(`${h.origin}/api/credentials`);
    expect(all.status).toBe(200);
    const rows = (JSON.parse(all.body) as { credentials: Array<Record<string, unknown>> }).credentials;
    expect(rows.map((r) => [r['customer_id'], r['status'], r['days_left']])).toEqual([
      ['old', 'authorized', 14],
      ['new', 'authorized', 364],
    ]);
    expect(Object.keys(rows[0] ?? {}).sort()).toEqual([...CREDENTIAL_ROW_KEYS].sort());
    expect(rows[0]).toMatchObject({ scope: 'NA', region: 'NA', revoked_at: null, has_refresh_token: true });
    const expiring = JSON.parse((await api.get(`${h.origin}/api/credentials?expiring=30`)).body) as { credentials: Array<Record<string, unknown>> };
    expect(expiring.credentials.map((r) => r['customer_id'])).toEqual(['old']);
    expect((await api.get(`${h.origin}/api/credentials?expiring=soon`)).status).toBe(400);

    h.clock.advance(20 * DAY);
    const later = JSON.parse((await api.get(`${h.origin}/api/credentials`)).body) as { credentials: Array<Record<string, unknown>> };
    expect(later.credentials[0]).toMatchObject({ customer_id: 'old', status: 'expired', days_left: -6 });
    expect(all.body).not.toContain('Atzr|');
    expect(all.body).not.toContain('v1:test1:');
  });
});

describe('one field naming for ops and the HTTP API', () => {
  it('ops status --json prints exactly the objects /api/credentials returns', async () => {
    h = await startHarness();
    const browser = new CookieClient();
    await browser.get(await h.approve(browser, '42'));
    await browser.get(await h.approve(browser, '43', { sellingPartnerId: 'A2SANDBOXSELLER2' }));
    const lines: string[] = [];
    expect(await opsCommand(['status', '--json'], h.values, h.clock.now(), (l) => lines.push(l))).toBe(0);
    const api = JSON.parse((await browser.get(`${h.origin}/api/credentials`)).body) as { credentials: unknown[] };
    expect(JSON.parse(lines.join('\n'))).toEqual(api.credentials);
  });
});
