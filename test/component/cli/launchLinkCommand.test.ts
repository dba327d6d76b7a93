import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { verifyLaunchLink } from '../../../src/authorization/launchLink.js';
import { launchLinkCommand } from '../../../src/cli/launchLink.js';
import { startHarness } from '../../support/harness.js';

/**
 * `npm run launch-link` signs a launch link the service accepts, with LAUNCH_LINK_SECRET from local.settings.json or
 * the sandbox's own secret, and refuses bad arguments with exit code 2. Each case runs in its own temp directory.
 */
describe('npm run launch-link', () => {
  let cwd: string;
  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'launch-link-'));
  });
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));
  const NOW = 1_800_000_000_000;

  it("signs with LAUNCH_LINK_SECRET from local.settings.json, and the service's verifier accepts the link", async () => {
    const h = await startHarness();
    onTestFinished(() => h.close());
    writeFileSync(join(cwd, 'local.settings.json'), JSON.stringify({ Values: { LWA_CLIENT_ID: 'x', LAUNCH_LINK_SECRET: h.secrets.launchLinkSecret } }));
    const result = launchLinkCommand(['--customer', '42', '--marketplace', 'de', '--base-url', 'https://auth.example.com'], {}, cwd, NOW);
    expect(result.code).toBe(0);
    const url = new URL(result.output);
    expect(url.origin + url.pathname).toBe('https://auth.example.com/api/authorize');
    expect(url.searchParams.get('expires')).toBe(String(NOW / 1000 + 600));
    const verified = verifyLaunchLink(url.searchParams, h.secrets.launchLinkSecret, NOW / 1000);
    expect(verified.ok && verified.link.marketplace.code).toBe('DE');
  });

  it('in sandbox mode signs with the sandbox secret it generates', async () => {
    const first = launchLinkCommand(['--customer', '42'], {}, cwd, NOW);
    const second = launchLinkCommand(['--customer', '42'], {}, cwd, NOW);
    expect(first.code).toBe(0);
    expect(first.output).toMatch(/^http:\/\/localhost:7071\/api\/authorize\?customer_id=42&marketplace=US&expires=\d+&sig=[A-Za-z0-9_-]{43}$/);
    expect(second.output).toBe(first.output);
  });

  it.each([
    [[], '--customer is required'],
    [['--customer', '42', '--marketplace', 'XX'], 'not in the marketplace table'],
    [['--customer', '42', '--ttl', '7200'], '--ttl must be'],
    [['--customer', '42', '--bogus'], "Unknown option '--bogus'"],
  ])('refuses %j', (argv, message) => {
    const result = launchLinkCommand(argv, {}, cwd, NOW);
    expect(result.code).toBe(2);
    expect(result.output).toContain(message);
  });
});
