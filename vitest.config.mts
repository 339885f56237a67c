import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'data/**'],
    // Real servers (s3rver, azurite, the origin, skopeo) start inside tests: give them time.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // 2 cores: two files at once keeps the e2e suites from starving each other.
    maxWorkers: 2,
  },
})
