import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { opsCommand } from '../../../src/cli/ops.js';
import { MAX_SECRET_INPUT_BYTES, SecretInputTooLarge } from '../../../src/cli/ops/context.js';
import { readSecretFromStdin } from '../../../src/cli/ops/terminal.js';
import { CookieClient } from '../../support/cookieClient.js';
import { buildHostScript } from '../../support/fleet.js';
import { startHarness, type Harness } from '../../support/harness.js';

/**
 * Issue 16.7 (b, c) and 16.9 (unlink without a terminal): what `npm run ops` takes from outside is bounded, and a
 * secret pasted where it does not belong is refused by position and kind, never printed back.
 */
const ROOT = resolve(import.meta.dirname, '../../..');
let opsScript: string;
beforeAll(() => {
  opsScript = join(dirname(buildHostScript(ROOT)), 'ops.js');
});

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function ops(argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await opsCommand(argv, {}, new Date(), (line) => lines.push(line));
  return { code, lines };
}

const refreshToken = `Atzr|IwEBI${randomBytes(200).toString('base64url')}`;
const SECRETS: Array<[string, string]> = [
  ['an LWA refresh token (Atzr|…)', refreshToken],
  ['an LWA access token (Atza|…)', `Atza|IwEBI${randomBytes(200).toString('base64url')}`],
  ['an LWA client secret (amzn1.oa2-cs.…)', `amzn1.oa2-cs.v1.${randomBytes(32).toString('hex')}`],
  ['a webhook secret (whsec_…)', `whsec_${randomBytes(32).toString('base64')}`],
  ['a secret (40 or more base64 or hex characters)', randomBytes(32).toString('base64')],
  ['a secret (40 or more base64 or hex characters)', randomBytes(32).toString('hex')],
];

describe('no ops command prints a secret-shaped argument (16.7 b)', () => {
  for (const command of ['status', 'sweep', 'attempts', 'unlink', 'purge']) {
    it(`${command}: a pasted token, as a positional or an option's value, is refused by its position and kind`, async () => {
      for (const [kind, secret] of SECRETS) {
        for (const [argv, position] of [
          [[command, secret], 2],
          [[command, '--customer', secret], 3],
          [[command, `--customer=${secret}`], 2],
        ] as const) {
          const { code, lines } = await ops([...argv]);
          expect({ argv: argv.length, code, first: lines[0] }).toEqual({
            argv: argv.length,
            code: 2,
            first: `ops: argument ${position} looks like ${kind}: refused, and not printed; no command takes a secret as an argument`,
          });
          expect(lines.join('\n')).not.toContain(secret.slice(6, 30));
        }
      }
    });
  }

  it('an unknown command that is a token is not named back either', async () => {
    const { code, lines } = await ops([refreshToken]);
    expect(code).toBe(2);
    expect(lines.join('\n')).not.toContain(refreshToken.slice(6, 30));
  });

  it('ids are not mistaken for secrets: a long numeric customer id, a UUID, a seller id', async () => {
    for (const customer of ['1234567890123456789012345678901234567890123456', '3f2b8c1e-9d4a-4b6e-8f00-1a2b3c4d5e6f', 'A3EXAMPLEYWS', 'customer-with-a-rather-long-identifier-0042']) {
      const { lines } = await ops(['status', '--customer', customer, '--region', 'NA']);
      expect(lines[0]).toBe('ops: --region does not belong to status');
    }
  });
});

describe('import-refresh-token reads a bounded standard input (16.7 c)', () => {
  it('reads no more than the limit from an endless input, and rejects with SecretInputTooLarge', async () => {
    let pulled = 0;
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const endless = Readable.from(
      (function* () {
        while (pulled < 1024 ** 3) {
          pulled += chunk.length;
          yield chunk;
        }
      })(),
    );
    await expect(readSecretFromStdin(endless)).rejects.toBeInstanceOf(SecretInputTooLarge);
    expect(pulled).toBeLessThanOrEqual(MAX_SECRET_INPUT_BYTES + 2 * chunk.length);
    expect(endless.destroyed).toBe(true);
  });

  it('npm run ops -- import-refresh-token with 1 GiB piped in: exit 2, one clear line, the child stops reading (under 16 MiB of the 1 GiB is taken), nothing stored', async () => {
    h = await startHarness();
    const dir = mkdtempSync(join(tmpdir(), 'ops-stdin-'));
    try {
      const child = spawn(process.execPath, [opsScript, 'import-refresh-token', '--customer', '77', '--marketplace', 'US', '--selling-partner-id', 'A1SANDBOXSELLER1'], {
        cwd: dir,
        env: { PATH: process.env['PATH'], ...h.values },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      child.stdout.resume();
      // Written as fast as the pipe takes it, up to 1 GiB; the child's closing of the pipe ends it (EPIPE).
      let accepted = 0;
      const block = Buffer.alloc(1024 * 1024, 0x41);
      child.stdin.on('error', () => undefined);
      const writing = (async () => {
        while (accepted < 1024 ** 3 && !child.stdin.destroyed && child.exitCode === null) {
          if (!child.stdin.write(block)) await new Promise((r) => { child.stdin.once('drain', r); child.once('exit', r); });
          accepted += block.length;
        }
      })();
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      await writing;
      expect(code).toBe(2);
      expect(stderr.trim().split('\n')).toEqual([
        'ops: standard input holds more than 16 KiB, and a refresh token is at most 2048 bytes: it was not read further, nothing was asked or stored',
      ]);
      expect(accepted).toBeLessThan(16 * 1024 * 1024);
      expect(h.lwa.received).toHaveLength(0);
      expect(await (await h.services()).store.listCredentials()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ops unlink without a terminal (16.9)', () => {
  it('does not unlink, says to add --yes, and exits 1', async () => {
    h = await startHarness();
    const browser = new CookieClient();
    expect((await browser.get(await h.approve(browser, '42'))).status).toBe(200);
    const dir = mkdtempSync(join(tmpdir(), 'ops-unlink-'));
    try {
      const child = spawn(process.execPath, [opsScript, 'unlink', '--customer', '42', '--region', 'NA'], { cwd: dir, env: { PATH: process.env['PATH'], ...h.values }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      child.stdout.resume();
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      expect(code).toBe(1);
      expect(stderr.trim()).toBe('ops: not unlinked: there is no terminal to ask for confirmation on; add --yes to unlink without asking');
      expect((await (await h.services()).store.findCredential('42', 'NA'))?.status).toBe('authorized');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
