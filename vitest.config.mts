import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'data/**'],
    // Real servers (s3rver, azurite, the origin, skopeo) start inside tests: give them time.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // MERIDIAN_TEST_DATABASE=postgres: one throwaway PostgreSQL cluster for the run.
    globalSetup: ['./test/setup/postgres-global.ts'],
    // Node 22 and 24 re-read a package's package.json for every module they load from it, and
    // drizzle-orm's is 178 KB over ~450 modules (README "Start-up on Node 22 and 24"): importing
    // it cost each test file ~2 s there. Pre-bundled once per run (node_modules/.vite), it costs
    // a fraction: 4 API test files' import time 12.5 s → 4.5 s on Node 24 (Node 20 unchanged).
    deps: { optimizer: { ssr: { enabled: true, include: ['drizzle-orm', 'drizzle-orm/*'] } } },
    pool: 'forks',
    // 2 cores: two files at once keeps the e2e suites from starving each other.
    maxWorkers: 2,
    // CI (.ci/run) sets MERIDIAN_TEST_RETRY=1: a test failing once under a loaded runner is run
    // again, and the CI summary names every test that needed it (flaky), so none is hidden.
    retry: Number(process.env.MERIDIAN_TEST_RETRY ?? 0),
    env: {
      // Tests talk to 127.0.0.1 only: Google's auth library must not probe the GCE metadata server
      // (169.254.169.254) when a GCS test has no credentials.
      METADATA_SERVER_DETECTION: 'none',
    },
  },
})
