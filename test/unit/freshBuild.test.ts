import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';

/**
 * scripts/fresh-build.mjs, which every command runs first, in a project of one file: the commands must never run
 * code older than src/, nor code that failed to compile.
 */
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fresh-build-'));
  mkdirSync(join(dir, 'scripts'));
  mkdirSync(join(dir, 'src'));
  copyFileSync(join(repo, 'scripts/fresh-build.mjs'), join(dir, 'scripts/fresh-build.mjs'));
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fresh-build-probe', private: true, type: 'module' }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', strict: true, types: [], noEmit: true }, include: ['src'] }));
  writeFileSync(
    join(dir, 'tsconfig.build.json'),
    JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmit: false, rootDir: 'src', outDir: 'dist', incremental: true, tsBuildInfoFile: 'dist/.tsbuildinfo' }, include: ['src'] }),
  );
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function freshBuild(): number | null {
  return spawnSync(process.execPath, [join(dir, 'scripts/fresh-build.mjs')], { cwd: dir, encoding: 'utf8' }).status;
}

it('a src file edited after the last build is compiled before the command runs', () => {
  writeFileSync(join(dir, 'src/main.ts'), "export const word: string = 'before';\n");
  expect(freshBuild()).toBe(0);
  writeFileSync(join(dir, 'src/main.ts'), "export const word: string = 'after';\n");
  expect(freshBuild()).toBe(0);
  expect(readFileSync(join(dir, 'dist/main.js'), 'utf8')).toContain("'after'");
});

it('a src file saved while the last build ran (after tsc read it) is compiled before the next command', () => {
  writeFileSync(join(dir, 'src/main.ts'), "export const word: string = 'before';\n");
  expect(freshBuild()).toBe(0);
  const builtAt = statSync(join(dir, 'dist/.tsbuildinfo')).mtimeMs;
  writeFileSync(join(dir, 'src/main.ts'), "export const word: string = 'saved during the build';\n");
  // Its time as the editor would have left it: half a second before that build finished.
  const savedAt = new Date(builtAt - 500);
  utimesSync(join(dir, 'src/main.ts'), savedAt, savedAt);
  expect(freshBuild()).toBe(0);
  expect(readFileSync(join(dir, 'dist/main.js'), 'utf8')).toContain("'saved during the build'");
});

it('after a build that failed type checking, the next run fails again instead of running what tsc emitted', () => {
  writeFileSync(join(dir, 'src/main.ts'), "export const word: string = 'before';\n");
  expect(freshBuild()).toBe(0);
  writeFileSync(join(dir, 'src/main.ts'), "export const word: number = 'not a number';\n");
  expect(freshBuild()).not.toBe(0);
  // tsc emits despite the error and writes its build info: a second run must not take that for a current build.
  expect(freshBuild()).not.toBe(0);
});
