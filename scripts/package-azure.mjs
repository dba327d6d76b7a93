// `npm run package:azure`: writes .deploy/, the folder Azure runs, built here. It is what azd deploys (azure.yaml
// `dist`), what the pipeline hands Azure/functions-action, and where `func azure functionapp publish <app> --no-build`
// runs: dist/ (without source maps and build info), host.json, package.json, package-lock.json, and the production
// dependencies only (`npm ci --omit=dev --omit=optional`: no TypeScript, no better-sqlite3, no pinned Node binary).
// Run after the build (the npm script runs scripts/fresh-build.mjs first).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.deploy');

if (!existsSync(join(root, 'dist', 'functions', 'index.js'))) {
  console.error('package:azure: dist/functions/index.js is missing: run `npm run build` first.');
  process.exit(1);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out);
cpSync(join(root, 'dist'), join(out, 'dist'), {
  recursive: true,
  filter: (source) => !source.endsWith('.map') && !source.endsWith('.tsbuildinfo'),
});
for (const file of ['host.json', 'package.json', 'package-lock.json']) cpSync(join(root, file), join(out, file));
// Core Tools reads the worker runtime from local.settings.json when it publishes; neither it nor azd uploads the file.
writeFileSync(join(out, 'local.settings.json'), `${JSON.stringify({ IsEncrypted: false, Values: { FUNCTIONS_WORKER_RUNTIME: 'node' } }, null, 2)}\n`);
writeFileSync(join(out, '.funcignore'), 'local.settings.json\n');

// The npm that runs this script (npm_execpath), under the Node that runs it; `npm` from PATH otherwise.
const npmCli = process.env['npm_execpath'];
const npmArgs = ['ci', '--omit=dev', '--omit=optional', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'];
const installed =
  npmCli !== undefined && npmCli.endsWith('.js')
    ? spawnSync(process.execPath, [npmCli, ...npmArgs], { cwd: out, stdio: 'inherit' })
    : spawnSync('npm', npmArgs, { cwd: out, stdio: 'inherit', shell: process.platform === 'win32' });
if (installed.status !== 0) {
  console.error('package:azure: npm ci of the production dependencies failed.');
  process.exit(installed.status ?? 1);
}
console.log(`package:azure: ${out} is ready to deploy.`);
