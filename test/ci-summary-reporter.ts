// A vitest reporter for CI (.ci/run): counts what really happened, planned against finished.
//
// When a test worker dies (a native abort, a segfault), vitest's JSON report still calls the
// file "passed" and lists its unrun tests as "pending", the same word it uses for tests skipped
// on purpose, so a summary built on it can print "0 failed" for a red run. The reporter API tells
// the two apart: a test skipped on purpose ends "skipped"; a test that never ran stays "pending".
// Here a test that never ran is a failure, and so is a file that failed outside any test.
//
// Use: vitest run --reporter=default --reporter=./test/ci-summary-reporter.ts
// It prints `N passed, N failed, N skipped`; with MERIDIAN_CI_SUMMARY=<path> it also writes the
// counts there as JSON, which .ci/run sums over Node versions.

import { writeFileSync } from 'node:fs'
import type { Reporter, SerializedError, TestModule } from 'vitest/node'

export interface CiSummary {
  passed: number
  failed: number
  skipped: number
  /** Collected tests that never finished: their worker died or the run was cut short. */
  neverRan: number
  /** Files that failed with no failed or unrun test to show for it (import error, early crash). */
  brokenFiles: string[]
  unhandledErrors: number
  /** `file > test` of every failed or unrun test: CI prints them, so a red run names its culprits. */
  failedTests: string[]
  /** Tests that failed, then passed on vitest's retry (MERIDIAN_TEST_RETRY): counted as passed, named so they are not hidden. */
  flakyTests: string[]
}

export function summarize(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<SerializedError>): CiSummary {
  const s: CiSummary = { passed: 0, failed: 0, skipped: 0, neverRan: 0, brokenFiles: [], unhandledErrors: unhandled.length, failedTests: [], flakyTests: [] }
  for (const module of modules) {
    let counted = 0
    for (const test of module.children.allTests()) {
      const state = test.result().state
      const name = `${module.relativeModuleId} > ${test.fullName}`
      if (state === 'passed') {
        s.passed++
        if (test.diagnostic()?.flaky) s.flakyTests.push(name)
      } else if (state === 'skipped') s.skipped++
      else if (state === 'failed') s.failed++, counted++, s.failedTests.push(name)
      else s.neverRan++, counted++, s.failedTests.push(`${name} (never ran)`)
    }
    const moduleState = module.state()
    const moduleFailed = moduleState === 'failed' || moduleState === 'queued' || module.errors().length > 0
    if (moduleFailed && counted === 0) s.brokenFiles.push(module.relativeModuleId)
  }
  return s
}

/** Failures CI reports: every failed or unrun test, every broken file; never 0 on a red run. */
export function failures(s: CiSummary): number {
  const counted = s.failed + s.neverRan + s.brokenFiles.length
  return counted > 0 ? counted : s.unhandledErrors
}

export default class CiSummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<SerializedError>): void {
    const s = summarize(modules, unhandled)
    const out = process.env.MERIDIAN_CI_SUMMARY
    if (out) writeFileSync(out, JSON.stringify({ ...s, failures: failures(s) }) + '\n')
    const notes: string[] = []
    if (s.neverRan > 0) notes.push(`${s.neverRan} tests never ran (a worker crashed or the run was cut short)`)
    if (s.brokenFiles.length > 0) notes.push(`files failed outside any test: ${s.brokenFiles.join(', ')}`)
    if (s.unhandledErrors > 0) notes.push(`${s.unhandledErrors} unhandled errors`)
    for (const name of s.failedTests) notes.push(`failed: ${name}`)
    for (const name of s.flakyTests) notes.push(`flaky (failed, then passed on retry): ${name}`)
    for (const note of notes) process.stdout.write(`ci-summary: ${note}\n`)
    process.stdout.write(`ci-summary: ${s.passed} passed, ${failures(s)} failed, ${s.skipped} skipped\n`)
  }
}
