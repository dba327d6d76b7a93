/**
 * The import rules of src/, checked by test/architecture/imports.test.ts (dependency-cruiser, type-only imports
 * included): the domain (credentials/) imports nothing of ours but itself; the use cases import neither adapters nor
 * drivers; adapters never import a use case; no folder imports a folder that imports it; no module cycles.
 */
const USE_CASES = '^src/(authorization|accessTokens|events|sweep)/';
const ADAPTERS = '^src/(store|lwa|spapi|crypto|config|logging|webhooks|outbound)/';
const OUTER = '^src/(http|jobs|functions|cli|sandbox|library)/|^src/app\\.ts$';
const DRIVERS = 'node_modules/(mssql|tedious|better-sqlite3|@azure/functions|axios)/';

module.exports = {
  forbidden: [
    {
      name: 'domain-imports-only-itself',
      comment: 'credentials/ is the domain: every other part imports it, it imports only itself and Node built-ins.',
      severity: 'error',
      from: { path: '^src/credentials/' },
      to: { pathNot: '^src/credentials/', dependencyTypesNot: ['core'] },
    },
    {
      name: 'use-cases-import-no-adapter-or-driver',
      comment: 'The flows are plain TypeScript over the ports in credentials/: no store, no HTTP, no driver, no Azure.',
      severity: 'error',
      from: { path: USE_CASES },
      to: { path: `^src/(store|http|jobs|functions|cli|sandbox|library|logging|outbound)/|^src/app\\.ts$|${DRIVERS}` },
    },
    {
      name: 'adapters-import-no-use-case',
      comment: 'Adapters implement the ports of credentials/ and import the domain, never a flow or the outer layers.',
      severity: 'error',
      from: { path: ADAPTERS },
      to: { path: `${USE_CASES}|${OUTER}` },
    },
    {
      name: 'composition-root-imports-no-entry',
      comment: 'app.ts composes the parts; the entries (functions, cli, library, local host) import it, not the reverse.',
      severity: 'error',
      from: { path: '^src/app\\.ts$' },
      to: { path: '^src/(http|jobs|functions|cli|sandbox|library)/' },
    },
    { name: 'no-folder-cycles', severity: 'error', scope: 'folder', from: { path: '^src/' }, to: { circular: true } },
    { name: 'no-module-cycles', severity: 'error', from: { path: '^src/' }, to: { circular: true } },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/|^node_modules/',
  },
};
