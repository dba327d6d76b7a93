import { afterEach, describe, expect, it } from 'vitest';
import { opsCommand } from '../../../src/cli/ops.js';
import { CookieClient } from '../../support/cookieClient.js';
import { startHarness, type Harness } from '../../support/harness.js';

/** `npm run ops -- sweep`, run as the CLI runs it (its own App on the same settings), against the sandbox Amazon. */
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function setUp(): Promise<Harness> {
  const harness = await startHarness();
  h = harness;
  for (const [customer, seller] of [['41', 'A1SANDBOXSELLER1'], ['42', 'A2SANDBOXSELLER2']] as const) {
    const browser = new CookieClient();
    expect((await browser.get(await harness.approve(browser, customer, { sellingPartnerId: seller }))).status).toBe(200);
  }
  return harness;
}

async function ops(harness: Harness, ...argv: string[]): Promise<{ code: number; lines: string[]; progress: Array<[number, number]> }> {
  const lines: string[] = [];
  const progress: Array<[number, number]> = [];
  const code = await opsCommand(argv, harness.values, harness.clock.now(), (l) => lines.push(l), async () => false, (done, total) => progress.push([done, total]));
  return { code, lines, progress };
}

describe('npm run ops -- sweep', () => {
  it("shows each seller's verified marketplaces and store, then a summary", async () => {
    const harness = await setUp();
    const { code, lines, progress } = await ops(harness, 'sweep');
    expect(code).toBe(0);
    expect(lines[0]).toMatch(/^customer\s+scope\s+seller\s+outcome\s+marketplaces\s+store$/);
    expect(lines.find((l) => l.startsWith('41 '))).toMatch(/^41\s+NA\s+A1SANDBOXSELLER1\s+verified\s+US,CA,MX,BR\s+Sandbox Seller One$/);
    expect(lines.find((l) => l.startsWith('42 '))).toMatch(/verified\s+US,CA,MX,BR/);
    expect(lines.at(-1)).toBe('2 rows to check (2 verified); 0 reminders written; 0 old attempts and 0 delivered events purged');
    expect(lines.filter((l) => l.startsWith('{'))).toEqual([]); // no JSON log lines between the table and the summary
    expect(progress.at(-1)).toEqual([2, 2]);
  });

  it('--customer sweeps that customer only', async () => {
    const harness = await setUp();
    const { lines } = await ops(harness, 'sweep', '--customer', '42');
    expect(lines.at(-1)).toMatch(/^1 row to check \(1 verified\)/);
    expect(harness.spApi.calls.get('A1SANDBOXSELLER1')).toBeUndefined();
  });

  it('--dry-run says what it would check and calls nothing', async () => {
    const harness = await setUp();
    const { code, lines } = await ops(harness, 'sweep', '--dry-run');
    expect(code).toBe(0);
    expect(lines.at(-1)).toMatch(/^dry run \(nothing called, nothing written\): 2 rows to check \(2 would_check\)/);
    expect(harness.spApi.calls.size).toBe(0);
  });

  it('says so when SP-API denied every seller checked: one app-wide incident, no seller flagged', async () => {
    const harness = await setUp();
    for (const seller of ['A1SANDBOXSELLER1', 'A2SANDBOXSELLER2']) harness.spApi.setMode(seller, 'denied');
    const { lines } = await ops(harness, 'sweep');
    expect(lines.filter((l) => !l.startsWith('{')).at(-1)).toBe(
      "ops: SP-API denied every seller checked (403): one app-wide incident (see /api/health), no seller flagged; check the app's roles in Solution Provider Portal",
    );
    const { store } = await harness.services();
    expect((await store.listCredentialChecks()).map((c) => [c.checkOutcome, c.flag])).toEqual([
      ['access_denied', null],
      ['access_denied', null],
    ]);
  });

  it('refuses an option that belongs to another command, with usage and exit code 2', async () => {
    const harness = await setUp();
    const { code, lines } = await ops(harness, 'sweep', '--region', 'NA');
    expect(code).toBe(2);
    expect(lines[0]).toBe('ops: --region does not belong to sweep');
  });
});
