// Only for .ci/prove-crash-summary (MERIDIAN_PROVE_CRASH=1): a test worker that aborts mid-file,
// as better-sqlite3 12 on Node 24 used to abort it (`Assertion failed` in Statement::~Statement,
// README "Runtime: Node versions"), followed by tests that then never run. The proof checks that
// the CI summary counts them as failures where vitest's JSON report calls the run a success.
// Meridian's own tests no longer reach that abort (db/sqlite-executor.ts keeps its prepared
// statements), so the worker aborts here on purpose, with the same signal.

import { describe, expect, it } from 'vitest'

describe.skipIf(!process.env.MERIDIAN_PROVE_CRASH)('a test worker that aborts (CI proof only)', () => {
  it('aborts the worker process', () => {
    process.abort()
  })

  it('runs after the abort (never)', () => {
    expect(true).toBe(true)
  })

  it('and this one neither', () => {
    expect(true).toBe(true)
  })
})
