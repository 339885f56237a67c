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
//
// A test that failed, then passed on vitest's retry, is counted as passed but named as flaky, with
// the errors of its failed attempts (printed under its name and kept in the JSON as flakyErrors,
// which .ci/run prints too): the default reporter shows such a test as passed, without the error,
// so a flaky failure in CI had to be guessed from other output. vitest keeps every failed attempt's
// errors in the passed test's result().errors (appended in order; diagnostic().retryCount counts
// the failed attempts).

import { writeFileSync } from 'node:fs'
import { relative } from 'node:path'
import { stripVTControlCharacters } from 'node:util'
import type { Reporter, SerializedError, TestCase, TestModule } from 'vitest/node'

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
  /** For each flaky test (`file > test`, as in flakyTests): what its failed attempts threw, at most MAX_ERROR_LINES plain lines. */
  flakyErrors: Record<string, string[]>
}

/** Lines kept per flaky test: enough for the message, the expected/received and where it threw. */
export const MAX_ERROR_LINES = 20
const MESSAGE_LINES = 4
const DIFF_LINES = 6
const FRAMES = 4

/** Plain text (no colour codes), split into trimmed-right, non-empty lines. */
function plainLines(text: string | undefined): string[] {
  return stripVTControlCharacters(text ?? '').split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '')
}

function take(lines: string[], n: number): string[] {
  return lines.length <= n ? lines : [...lines.slice(0, n), `… ${lines.length - n} more lines`]
}

/** Where the error was thrown: vitest's parsed frames (the test's own code), else the raw stack without node_modules and Node internals. */
function frames(error: SerializedError): string[] {
  const parsed = (error.stacks ?? []).map((f) => `at ${f.method ? `${f.method} ` : ''}${relative(process.cwd(), f.file)}:${f.line}:${f.column}`)
  if (parsed.length > 0) return parsed.slice(0, FRAMES)
  const raw = plainLines(error.stack).map((l) => l.trim()).filter((l) => l.startsWith('at ') && !l.includes('/node_modules/') && !l.includes('node:internal'))
  return raw.slice(0, FRAMES).map((l) => l.replace(`${process.cwd()}/`, ''))
}

/** One error: `Name: message` (first lines), the diff if any, then where it was thrown. */
function describeError(error: SerializedError): string[] {
  const message = plainLines(error.message)
  const name = error.name && error.name !== 'Error' ? `${error.name}: ` : ''
  const head = take(message.length > 0 ? message : ['(no message)'], MESSAGE_LINES)
  head[0] = `${name}${head[0]}`
  const diff = typeof error.diff === 'string' ? take(plainLines(error.diff), DIFF_LINES) : []
  return [...head, ...diff.map((l) => `  ${l}`), ...frames(error).map((l) => `  ${l}`)]
}

/**
 * The errors of a flaky test's failed attempts, bounded to MAX_ERROR_LINES. vitest appends each
 * failed attempt's errors to one list with no mark between attempts: when there is one error per
 * failed attempt (the usual case), each is labelled with its attempt; otherwise they are listed in order.
 */
export function flakyErrorLines(test: TestCase): string[] {
  const errors = test.result().errors ?? []
  const attempts = test.diagnostic()?.retryCount ?? 0
  const label = (i: number) => errors.length === attempts ? `attempt ${i + 1} of ${attempts + 1}: ` : `error ${i + 1} of ${errors.length} (${attempts} failed attempts): `
  const lines = errors.flatMap((error, i) => {
    const [first, ...rest] = describeError(error)
    return [`${label(i)}${first}`, ...rest.map((l) => `  ${l}`)]
  })
  if (lines.length === 0) return ['(vitest kept no error for the failed attempt)']
  return lines.length <= MAX_ERROR_LINES ? lines : [...lines.slice(0, MAX_ERROR_LINES - 1), `… ${lines.length - MAX_ERROR_LINES + 1} more lines`]
}

export function summarize(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<SerializedError>): CiSummary {
  const s: CiSummary = { passed: 0, failed: 0, skipped: 0, neverRan: 0, brokenFiles: [], unhandledErrors: unhandled.length, failedTests: [], flakyTests: [], flakyErrors: {} }
  for (const module of modules) {
    let counted = 0
    for (const test of module.children.allTests()) {
      const state = test.result().state
      const name = `${module.relativeModuleId} > ${test.fullName}`
      if (state === 'passed') {
        s.passed++
        if (test.diagnostic()?.flaky) {
          // vitest allows two tests of one name in a file: number the later ones, so each keeps
          // its own errors instead of overwriting the first's.
          let unique = name
          for (let n = 2; unique in s.flakyErrors; n++) unique = `${name} (#${n} of that name)`
          s.flakyTests.push(unique)
          s.flakyErrors[unique] = flakyErrorLines(test)
        }
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
    for (const name of s.flakyTests) {
      notes.push(`flaky (failed, then passed on retry): ${name}`)
      for (const line of s.flakyErrors[name] ?? []) notes.push(`    ${line}`)
    }
    for (const note of notes) process.stdout.write(`ci-summary: ${note}\n`)
    process.stdout.write(`ci-summary: ${s.passed} passed, ${failures(s)} failed, ${s.skipped} skipped\n`)
  }
}
