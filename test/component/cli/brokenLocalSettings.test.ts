import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { dbMigrateCommand } from '../../../src/cli/dbMigrate.js';
import { launchLinkCommand } from '../../../src/cli/launchLink.js';
import { opsMain } from '../../../src/cli/ops.js';
import { tokensReencryptMain } from '../../../src/cli/tokensReencrypt.js';
import { commandRunPerTest, startIn } from '../../support/commandRun.js';

/**
 * Every command, run in a directory whose local.settings.json is not valid JSON, prints one line naming its line and
 * column (and no value from it), and exits without doing anything. Each case runs in its own temp directory.
 */
const run = commandRunPerTest();

describe('a broken local.settings.json, in every command', () => {
  const SECRET = 'SECRET-SENTINEL-0123456789abcdef0123456789';
  const WHERE = "local.settings.json is not valid JSON (line 3, column 3: expected ',' or '}' after a property value)";
  beforeEach(() => writeFileSync(join(run.dir, 'local.settings.json'), `{"Values": {\n  "LAUNCH_LINK_SECRET": "${SECRET}"\n  "X": "y"}}`));
  const lines = () => [...run.out, ...run.err];

  it('npm start prints its line and column', async () => {
    expect(await startIn(run, {})).toBe(1);
    expect(run.err).toEqual([`${WHERE}: fix it, or remove the file to use the sandbox.`]);
  });

  it('npm run ops prints its line and column', async () => {
    expect(await opsMain(['status'], run.dir, {}, (l) => run.out.push(l))).toBe(1);
    expect(lines()).toEqual([`ops: ${WHERE}: fix it, or remove the file to use the sandbox.`]);
  });

  it('npm run launch-link prints its line and column', () => {
    const result = launchLinkCommand(['--customer', '42'], {}, run.dir, Date.now());
    expect(result).toEqual({ code: 2, output: `${WHERE}: fix it, or remove the file to use the sandbox.` });
  });

  it('npm run tokens:reencrypt prints its line and column', async () => {
    expect(await tokensReencryptMain([], run.dir, {}, (l) => run.out.push(l))).toBe(1);
    expect(lines()).toEqual([`tokens:reencrypt: ${WHERE}: fix it, or remove the file to use the sandbox.`]);
  });

  it('npm run db:migrate prints its line and column', async () => {
    expect(await dbMigrateCommand([], run.dir, {}, { log: (l) => run.out.push(l), error: (l) => run.err.push(l) })).toBe(1);
    expect(lines()).toEqual([`db:migrate: ${WHERE}: fix it, or remove the file to use the sandbox.`]);
  });
});
