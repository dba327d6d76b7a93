import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseDuration } from '../../../src/cli/ops/arguments.js';
import { OPS_USAGE, opsCommand } from '../../../src/cli/ops.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { CREDENTIAL_ROW_KEYS } from '../../support/credentialsJson.js';

/**
 * `npm run ops`: the status and attempts listings over the store the app wrote (the harness's temp SQLite file,
 * opened a second time by the command's own App, as a separate process would).
 */
const DAY_MS = 86_400_000;

let h: Harness;
/** Everything secret the run produced: the command's output must hold none of it. */
let secrets: string[];
/** Every line any command printed in this test. */
let printed: string[];

beforeEach(async () => {
  h = await startHarness();
  printed = [];
  const codes: string[] = [];
  for (const [customer, marketplace, seller] of [
    ['c1', 'US', 'A1SANDBOXSELLER1'],
    ['c2', 'DE', 'A2SANDBOXSELLER2'],
  ] as const) {
    const browser = new CookieClient();
    const callback = await h.approve(browser, customer, { marketplace, sellingPartnerId: seller });
    const code = new URL(callback).searchParams.get('spapi_oauth_code');
    if (code !== null) codes.push(code);
    expect((await browser.get(callback)).status).toBe(200);
  }
  // c3 opens the consent page and stops there: a pending row with a pending attempt.
  const browser = new CookieClient();
  expect((await browser.get(h.launchLink('c3', 'JP'))).status).toBe(302);

  const { store } = await h.services();
  const envelopes = (await store.listSecretEnvelopes()).flatMap((e) => [e.lwaRefreshToken, e.spapiOauthCode]).filter((v) => v !== null);
  expect(codes).toHaveLength(2);
  expect(envelopes.length).toBeGreaterThanOrEqual(4);
  expect(h.lwa.issuedTokens.length).toBeGreaterThanOrEqual(4);
  secrets = [...h.lwa.issuedTokens, ...codes, ...envelopes, h.secrets.clientSecret, h.secrets.launchLinkSecret, h.secrets.tokenKey];
});

afterEach(async () => {
  await h.close();
});

async function ops(argv: string[], now: Date = h.clock.now(), values = h.values): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await opsCommand(argv, values, now, (line) => {
    lines.push(line);
    printed.push(line);
  });
  return { code, lines };
}

/** The table's rows (after header and dashes, before the summary line), split on the header's column starts. */
function parseTable(lines: string[]): { header: string[]; rows: string[][] } {
  const [headerLine = '', dashes = ''] = lines;
  const starts = [...dashes.matchAll(/-+/g)].map((m) => m.index);
  const cut = (line: string): string[] => starts.map((start, i) => line.slice(start, starts[i + 1]).trim());
  return { header: cut(headerLine), rows: lines.slice(2, -1).map(cut) };
}

afterEach(() => {
  const all = printed.join('\n');
  for (const secret of secrets) expect(all).not.toContain(secret);
});

describe('npm run ops -- status', () => {
  it('prints an aligned table: one line per row, dates as YYYY-MM-DD, the deadline 365 days after the grant', async () => {
    const { code, lines } = await ops(['status']);
    expect(code).toBe(0);
    const { header, rows } = parseTable(lines);
    expect(header).toEqual(['customer', 'scope', 'marketplace', 'seller', 'status', 'granted', 'reauthorize by', 'days left', 'last attempt', 'outcome/reason', 'last error']);
    expect(lines.at(-1)).toMatch(/^3 rows at \d{4}-\d\d-\d\dT/);

    // The dates as the store holds them (read here so that a run across midnight UTC cannot fail the test).
    const { store } = await h.services();
    const stored = new Map((await store.listCredentialStatus({}, h.clock.now())).map((r) => [r.customerId, r]));
    const ymd = (d: Date | null | undefined): string => d?.toISOString().slice(0, 10) ?? 'missing';
    const byCustomer = new Map(rows.map((r) => [r[0], r]));
    for (const [customer, scope, marketplace, seller] of [
      ['c1', 'NA', 'US', 'A1SANDBOXSELLER1'],
      ['c2', 'EU', 'DE', 'A2SANDBOXSELLER2'],
    ] as const) {
      const granted = stored.get(customer)?.authGrantedDate;
      expect(granted).toBeInstanceOf(Date);
      const deadline = ymd(new Date((granted?.getTime() ?? 0) + 365 * DAY_MS));
      const row = byCustomer.get(customer);
      expect(row?.slice(0, 7)).toEqual([customer, scope, marketplace, seller, 'authorized', ymd(granted), deadline]);
      expect(['364', '365']).toContain(row?.[7]);
      expect(row?.slice(8)).toEqual([ymd(stored.get(customer)?.lastAttemptAt), 'succeeded', '-']);
    }
    expect(byCustomer.get('c3')).toEqual(['c3', 'JP', 'JP', '-', 'pending', '-', '-', '-', ymd(stored.get('c3')?.lastAttemptAt), 'pending', '-']);
    // Soonest deadline first, pending rows last.
    expect(rows.map((r) => r[0]).at(-1)).toBe('c3');
  });

  it('--json prints a JSON array with ISO dates and the view columns only, named as /api/credentials names them (snake_case)', async () => {
    const { code, lines } = await ops(['status', '--json']);
    expect(code).toBe(0);
    const rows = JSON.parse(lines.join('\n')) as Record<string, unknown>[];
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(Object.keys(row).sort()).toEqual([...CREDENTIAL_ROW_KEYS].sort());
    }
    const c1 = rows.find((r) => r['customer_id'] === 'c1');
    expect(c1?.['reauthorize_by']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(String(c1?.['reauthorize_by'])) - Date.parse(String(c1?.['auth_granted_date']))).toBe(365 * DAY_MS);
    expect(c1).toMatchObject({ scope: 'NA', region: 'NA', revoked_at: null, has_refresh_token: true });
    expect(rows.find((r) => r['customer_id'] === 'c3')).toMatchObject({ scope: 'JP', region: 'FE', status: 'pending', reauthorize_by: null, days_left: null, has_refresh_token: false });
  });

  it('--expiring DAYS keeps the rows due within that many days; --customer one customer', async () => {
    const due = JSON.parse((await ops(['status', '--expiring', '400', '--json'])).lines.join('\n')) as { customer_id: string; days_left: number }[];
    expect(due.map((r) => r.customer_id).sort()).toEqual(['c1', 'c2']);
    for (const row of due) expect(row.days_left === 364 || row.days_left === 365).toBe(true);

    const table = await ops(['status', '--expiring', '400']);
    expect(parseTable(table.lines).rows.map((r) => r[0]).sort()).toEqual(['c1', 'c2']);
    expect(table.lines.at(-1)).toMatch(/^2 rows \(due within 400 days\) at /);

    const none = await ops(['status', '--expiring', '30']);
    expect(none.code).toBe(0);
    expect(parseTable(none.lines).rows).toEqual([]);
    expect(none.lines.at(-1)).toMatch(/^0 rows /);

    // Half a day past the deadline both have expired (-1), and show in a 30-day window.
    const later = JSON.parse((await ops(['status', '--expiring', '30', '--json'], new Date(Date.now() + 365.5 * DAY_MS))).lines.join('\n')) as { status: string; days_left: number }[];
    expect(later.map((r) => [r.status, r.days_left])).toEqual([
      ['expired', -1],
      ['expired', -1],
    ]);

    const one = await ops(['status', '--customer', 'c2']);
    expect(parseTable(one.lines).rows.map((r) => r[0])).toEqual(['c2']);
    expect(await ops(['status', '--customer', 'nobody', '--json'])).toEqual({ code: 0, lines: ['[]'] });
  });
});

describe('npm run ops -- attempts', () => {
  it('lists the attempts since a duration ago, newest first, as a table or JSON without hashes', async () => {
    const { code, lines } = await ops(['attempts', '--since', '24h']);
    expect(code).toBe(0);
    const { header, rows } = parseTable(lines);
    expect(header).toEqual(['time (UTC)', 'flow', 'customer', 'scope', 'outcome', 'reason', 'lwa_error']);
    expect(rows.map((r) => [r[1], r[2], r[3], r[4]])).toEqual([
      ['website', 'c3', 'JP', 'pending'],
      ['website', 'c2', 'EU', 'succeeded'],
      ['website', 'c1', 'NA', 'succeeded'],
    ]);
    for (const row of rows) expect(row[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(lines.at(-1)).toMatch(/^3 attempts since /);

    const json = JSON.parse((await ops(['attempts', '--json', '--customer', 'c1'])).lines.join('\n')) as Record<string, unknown>[];
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({ flow: 'website', customer_id: 'c1', scope: 'NA', region: 'NA', outcome: 'succeeded', selling_partner_id: 'A1SANDBOXSELLER1' });
    expect(String(json[0]?.['created_at'])).toMatch(/Z$/);
    for (const hidden of ['stateHash', 'browserBindingHash', 'codeHash', 'state_hash', 'browser_binding_hash', 'code_hash']) expect(json[0]).not.toHaveProperty(hidden);

    // Two days on, nothing in the last 24 hours; 7 days still covers them all.
    const later = new Date(Date.now() + 2 * DAY_MS);
    expect(parseTable((await ops(['attempts'], later)).lines).rows).toEqual([]);
    expect(parseTable((await ops(['attempts', '--since', '7d'], later)).lines).rows).toHaveLength(3);
    expect(parseTable((await ops(['attempts', '--since', '90m'], later)).lines).rows).toHaveLength(0);
  });
});

describe('npm run ops: arguments and settings', () => {
  it('answers bad arguments with the usage and exit code 2, without opening the store', async () => {
    for (const argv of [
      [],
      ['frobnicate'],
      ['status', 'extra'],
      ['status', '--since', '24h'],
      ['status', '--expiring', 'soon'],
      ['status', '--expiring', '-1'],
      ['status', '--customer', ''],
      ['status', '--bogus'],
      ['attempts', '--since', '5x'],
      ['attempts', '--since', '0h'],
      ['attempts', '--expiring', '30'],
      ['attempts', '--customer'],
      ['attempts', '--dry-run'],
      ['status', '--region', 'NA'],
      ['unlink', '--customer', 'c1'],
      ['unlink', '--region', 'NA'],
      ['unlink', '--customer', 'c1', '--region', 'XX'],
      ['unlink', '--customer', 'c1', '--region', 'NA', '--since', '1d'],
      ['unlink', '--customer', 'c1', '--region', 'FE'],
      ['unlink', '--customer', 'c1', '--marketplace', 'XX'],
      ['unlink', '--customer', 'c1', '--region', 'NA', '--marketplace', 'US'],
      ['recheck', '--customer', 'c1'],
      ['recheck', '--region', 'NA'],
      ['recheck', '--customer', 'c1', '--region', 'FE'],
      ['recheck', '--customer', 'c1', '--region', 'NA', '--yes'],
      ['purge', '--older-than', '12h'],
      ['purge', '--older-than', 'soon'],
      ['purge', '--customer', 'c1'],
    ]) {
      const { code, lines } = await ops(argv, h.clock.now(), {});
      expect({ argv, code }).toEqual({ argv, code: 2 });
      expect(lines.at(-1)).toBe(OPS_USAGE);
      expect(lines[0]).toMatch(/^ops: /);
    }
    expect(await ops(['--help'], h.clock.now(), {})).toEqual({ code: 0, lines: [OPS_USAGE] });
  });

  it('reports invalid settings with exit code 1', async () => {
    const { code, lines } = await ops(['status'], h.clock.now(), { ...h.values, TOKEN_ENCRYPTION_KEYS: 'not-a-key' });
    expect(code).toBe(1);
    expect(lines.some((line) => line.startsWith('ops: '))).toBe(true);
  });

  it('parses durations in minutes, hours and days', () => {
    expect([parseDuration('90m'), parseDuration('24h'), parseDuration('7d')]).toEqual([90 * 60_000, 24 * 3_600_000, 7 * DAY_MS]);
    expect([parseDuration('0d'), parseDuration('1w'), parseDuration('h'), parseDuration('-1h')]).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe('npm run ops -- purge', () => {
  it('--dry-run counts ended attempts older than the cut-off and deletes nothing; then purge deletes them, keeping each row\'s last attempt', async () => {
    const { store } = await h.services();
    // c1 authorizes again 100 days later: its first attempt is no longer its last.
    h.clock.advance(100 * DAY_MS);
    const browser = new CookieClient();
    const callback = await h.approve(browser, 'c1', { sellingPartnerId: 'A1SANDBOXSELLER1' });
    expect((await browser.get(callback)).status).toBe(200);
    const before = await store.listAttempts();
    const credentials = await store.listCredentials();

    const dry = await ops(['purge', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.lines.at(-1)).toMatch(/^would delete 1 ended attempt created before .* \(dry run: nothing deleted\)$/);
    expect(await store.listAttempts()).toEqual(before);

    const done = await ops(['purge', '--older-than', '90d']);
    expect(done.code).toBe(0);
    expect(done.lines.at(-1)).toMatch(/^deleted 1 ended attempt created before .* in 1 batch; credential rows and each row's last attempt kept$/);
    const after = await store.listAttempts();
    expect(after).toHaveLength(before.length - 1);
    expect(after.some((a) => a.customerId === 'c1')).toBe(true);
    // c2's and c3's only attempts are their rows' last: kept, however old.
    expect(after.filter((a) => a.customerId === 'c2' || a.customerId === 'c3')).toHaveLength(2);
    expect(await store.listCredentials()).toEqual(credentials);
    expect((await ops(['purge'])).lines.at(-1)).toMatch(/^deleted 0 ended attempts/);
  });
});
