import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { startCommand } from '../../src/cli/start.js';

/**
 * The commands as a new user runs them (README's first run): each test gets its own temp directory as the working
 * directory, what the commands printed to stdout and stderr, and what to stop (hosts, servers) once it ends.
 */
export interface CommandRun {
  dir: string;
  out: string[];
  err: string[];
  stops: Array<() => Promise<void>>;
}

/** Registers the per-test temp directory in the calling test file (beforeEach/afterEach) and returns its state. */
export function commandRunPerTest(): CommandRun {
  const run: CommandRun = { dir: '', out: [], err: [], stops: [] };
  beforeEach(() => {
    run.dir = mkdtempSync(join(tmpdir(), 'first-run-'));
    run.out = [];
    run.err = [];
  });
  afterEach(async () => {
    for (const stop of run.stops.splice(0)) await stop();
    rmSync(run.dir, { recursive: true, force: true });
  });
  return run;
}

/** `npm start` in the run's directory with `env`; a host it started is closed when the test ends. Its exit code. */
export async function startIn(run: CommandRun, env: NodeJS.ProcessEnv): Promise<number> {
  const started = await startCommand({ cwd: run.dir, env, print: (l) => run.out.push(l), printError: (l) => run.err.push(l) });
  if (started.host !== undefined) run.stops.push(() => started.host?.close() ?? Promise.resolve(), () => started.app?.close() ?? Promise.resolve());
  return started.code;
}
