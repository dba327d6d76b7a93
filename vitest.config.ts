import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Files run in parallel, one worker per core (vitest's own default leaves one core out: a single worker on 2 cores).
    // Threads, not forks: a file's worker starts with less CPU (about 10% of the run). Nothing a test asserts depends on
    // timing a loaded machine can break: waits are bounded by events or by the app's injectable clock and sleep.
    fileParallelism: true,
    pool: 'threads',
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
