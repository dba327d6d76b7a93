import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';

/**
 * scripts/fresh-build.mjs, which every command runs first, in a project of one file: the commands must never run
 * code older than src/, nor code that failed to compile.
 */
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/**
 * The probe project right after its first build (`before`, built by the script) with nothing changed since: its
 * inputs are dated well before that build, so it is current. Each case starts from a copy.
 */
let built: string;
let dir: string;

beforeAll(() => {
  built = mkdtempSync(join(tmpdir(), 'fresh-build-'));
  mkdirSync(join(built, 'scripts'));
  mkdirSync(join(built, 'src'));
  copyFileSync(join(repo, 'scripts/fresh-build.mjs'), join(built, 'scripts/fresh-build.mjs'));
  symlinkSync(join(repo, 'node_modules'), join(built, 'node_modules'), 'dir');
  writeFileSync(join(built, 'package.json'), JSON.stringify({ name: 'fresh-build-probe', private: true, type: 'module' }));
  // lib without the DOM, and skipLibCheck as the project's own: tsc runs in a third of the time, the script is the same.
  writeFileSync(
    join(built, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', lib: ['ES2023'], module: 'NodeNext', strict: true, skipLibCheck: true, types: [], noEmit: true },
      include: ['src'],
    }),
  );
  writeFileSync(
    join(built, 'tsconfig.build.json'),
    JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmit: false, rootDir: 'src', outDir: 'dist', incremental: true, tsBuildInfoFile: 'dist/.tsbuildinfo' }, include: ['src'] }),
  );
  writeFileSync(join(built, 'src/main.ts'), "export const word: string = 'before';\n");
  const written = new Date(Date.now() - 10_000);
  for (const input of ['src/main.ts', 'src', 'package.json', 'tsconfig.json', 'tsconfig.build.json']) utimesSync(join(built, input), written, written);
  expect(freshBuild(built)).toBe(0);
  expect(readFileSync(join(built, 'dist/main.js'), 'utf8')).toContain("'before'");
  // Current: a second run builds nothing (the stamp is left as it was).
  const stamp = statSync(join(built, 'dist/.tsbuildinfo')).mtimeMs;
  expect(freshBuild(built)).toBe(0);
  expect(statSync(join(built, 'dist/.tsbuildinfo')).mtimeMs).toBe(stamp);
});
afterAll(() => {
  rmSync(built, { recursive: true, force: true });
});
beforeEach(() => {
  // File times kept (a copied directory gets the time of the copy: src/ gets its own back), so the copy is as current
  // as the build it copies. Same depth under tmpdir: the build info's relative paths to TypeScript's lib still hold.
  dir = mkdtempSync(join(tmpdir(), 'fresh-build-'));
  cpSync(built, dir, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  const src = statSync(join(built, 'src'));
  utimesSync(join(dir, 'src'), src.atime, src.mtime);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function freshBuild(project = dir): number | null {
  return spawnSync(process.execPath, [join(project, 'scripts/fresh-build.mjs')], { cwd: project, encoding: 'utf8' }).status;
}

it('a src file edited after the last build is compiled before the command runs', () => {
  writeFileSync(join(dir, 'src/main.ts'), "export const word: string = 'after';\n");
  expect(freshBuild()).toBe(0);
  expect(readFileSync(join(dir, 'dist/main.js'), 'utf8')).toContain("'after'");
});

it('a src file saved while the last build ran (after tsc read it) is compiled before the next command', () => {
  // tsc writes its output as it finishes: the build ended when dist/main.js was written.
  const finishedAt = statSync(join(dir, 'dist/main.js')).mtimeMs;
  writeFileSync(join(dir, 'src/main.ts'), "export const word: string = 'saved during the build';\n");
  // Its time as the editor would have left it: half a second before that build finished.
  const savedAt = new Date(finishedAt - 500);
  utimesSync(join(dir, 'src/main.ts'), savedAt, savedAt);
  expect(freshBuild()).toBe(0);
  expect(readFileSync(join(dir, 'dist/main.js'), 'utf8')).toContain("'saved during the build'");
});

it('after a build that failed type checking, the next run fails again instead of running what tsc emitted', () => {
  writeFileSync(join(dir, 'src/main.ts'), "export const word: number = 'not a number';\n");
  expect(freshBuild()).not.toBe(0);
  // tsc emits despite the error and writes its build info: a second run must not take that for a current build.
  expect(freshBuild()).not.toBe(0);
});
