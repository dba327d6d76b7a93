// Builds dist/ only when it is older than the sources, so `npm run ops`, `launch-link`, `start`… start at once when
// nothing changed (a full tsc run takes 5-10 s). Current means: dist/.tsbuildinfo is newer than every file under src/
// and than the tsconfig files and package.json. When stale, runs the incremental build (tsconfig.build.json).
// `--if-possible` (the `prepare` script, run by `npm ci`): skips quietly where TypeScript is not installed
// (`npm ci --omit=dev`), since production builds with `npm run build` before pruning.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.tsbuildinfo');

function newest(path) {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return readdirSync(path).reduce((latest, name) => Math.max(latest, newest(join(path, name))), info.mtimeMs);
}

const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].map((p) => join(root, p)).filter(existsSync);
const current = existsSync(stamp) && inputs.every((p) => newest(p) <= statSync(stamp).mtimeMs);
if (!current) {
  let tsc;
  try {
    tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    if (process.argv.includes('--if-possible')) process.exit(0);
    console.error('TypeScript is not installed: run `npm ci` first.');
    process.exit(1);
  }
  // The stamp gets the build's start time, not its end: a file saved while tsc runs (after tsc read it) must look
  // newer than the build. Less a second, as file times come from a coarser clock than Date.now().
  const started = new Date(Date.now() - 1000);
  const built = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (built.status !== 0) {
    // tsc emits and writes its build info despite type errors: mark that build stale, or the next command would
    // take it for current and run code that failed to compile.
    if (existsSync(stamp)) utimesSync(stamp, 0, 0);
    process.exit(built.status ?? 1);
  }
  // tsc leaves the stamp alone when no output changed (a touched but unchanged file): mark the build current.
  utimesSync(stamp, started, started);
}
