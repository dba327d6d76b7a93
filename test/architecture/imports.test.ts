import { cruise, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { describe, expect, it } from 'vitest';

/**
 * The import rules of src/ (.dependency-cruiser.cjs), checked with dependency-cruiser: a well-kept tool that reads
 * TypeScript imports (type-only ones included) and knows folder cycles, so the rules stay data a reader can check.
 */
describe('the imports of src/', () => {
  it('keep every rule of .dependency-cruiser.cjs: a pure domain, use cases without adapters, no cycles', async () => {
    const options = await extractDepcruiseOptions('./.dependency-cruiser.cjs');
    const tsConfig = extractTSConfig('tsconfig.json');
    const result = await cruise(['src'], { ...options, validate: true }, {}, { tsConfig });
    const output = result.output as ICruiseResult;
    const violations = output.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (${v.cycle.map((c) => c.name).join(' → ')})` : ''}`);
    expect(violations).toEqual([]);
    // The rules read something: every folder of src/ was cruised.
    expect(output.summary.totalCruised).toBeGreaterThan(80);
  }, 30_000);
});
