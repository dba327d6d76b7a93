import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Component tests start loopback servers; one file at a time keeps the 2-core machine's timings honest.
    fileParallelism: false,
  },
});
