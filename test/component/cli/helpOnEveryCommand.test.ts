import { describe, expect, it } from 'vitest';
import { dbMigrateCommand } from '../../../src/cli/dbMigrate.js';
import { launchLinkCommand } from '../../../src/cli/launchLink.js';
import { opsMain } from '../../../src/cli/ops.js';
import { startCommand } from '../../../src/cli/start.js';
import { tokensReencryptMain } from '../../../src/cli/tokensReencrypt.js';
import { commandRunPerTest } from '../../support/commandRun.js';

/** `--help` on every command prints its usage and exits 0, in a directory of its own with no settings at all. */
const checkout = commandRunPerTest();

describe('--help on every command', () => {
  it.each([
    ['start', async () => (await captured(async (p) => (await startCommand({ argv: ['--help'], cwd: checkout.dir, env: {}, print: p, printError: p })).code))],
    ['launch-link', () => launchLinkCommand(['--help'], {}, checkout.dir, Date.now()).output],
    ['ops', async () => (await captured((p) => opsMain(['--help'], checkout.dir, {}, p)))],
    ['ops status', async () => (await captured((p) => opsMain(['status', '--help'], checkout.dir, {}, p)))],
    ['ops attempts', async () => (await captured((p) => opsMain(['attempts', '--help'], checkout.dir, {}, p)))],
    ['ops unlink', async () => (await captured((p) => opsMain(['unlink', '--help'], checkout.dir, {}, p)))],
    ['ops purge', async () => (await captured((p) => opsMain(['purge', '--help'], checkout.dir, {}, p)))],
    ['tokens:reencrypt', async () => (await captured((p) => tokensReencryptMain(['--help'], checkout.dir, {}, p)))],
    ['db:migrate', async () => (await captured((p) => dbMigrateCommand(['--help'], checkout.dir, {}, { log: p, error: p })))],
  ])('%s --help prints its usage', async (name, run) => {
    const text = await run();
    expect(text.startsWith('usage: npm ')).toBe(true);
    const [command, sub] = name.split(' ');
    expect(text).toContain(command === 'start' ? 'npm start' : command === 'ops' ? `npm run ops -- ${sub ?? 'status'}` : `npm run ${name}`);
  });
});

async function captured(run: (print: (line: string) => void) => Promise<number>): Promise<string> {
  const lines: string[] = [];
  expect(await run((l) => lines.push(l))).toBe(0);
  return lines.join('\n');
}
