// The CI summary (test/ci-summary-reporter.ts) on a real vitest run with retries: a test that
// failed and then passed on a retry is counted as passed, named as flaky, and shown with what its
// failed attempts threw (message, diff, where), colour codes stripped and bounded, both in the
// printed summary and in the JSON .ci/run reads. The tests that flake are in
// test/proof/flaky-attempts.fixture.ts, run by a vitest of their own in a child process.

import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_ERROR_LINES, type CiSummary } from './ci-summary-reporter.ts'

const ROOT = resolve(import.meta.dirname, '..')
const FIXTURE = 'test/proof/flaky-attempts.fixture.ts'
const FILE = `${FIXTURE} > `

describe('CI summary of flaky tests', () => {
  let dir: string
  let stdout: string
  let summary: CiSummary & { failures: number }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-ci-summary-'))
    // A config of its own: only the fixture, one retry (as CI's MERIDIAN_TEST_RETRY=1), no global
    // setup. Plain object, no import: it lives outside the repository.
    writeFileSync(join(dir, 'vitest.config.mjs'), `export default { test: { include: [${JSON.stringify(FIXTURE)}], retry: 1 } }\n`)
    const run = await promisify(execFile)(process.execPath, [
      join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--root', ROOT, '--config', join(dir, 'vitest.config.mjs'),
      '--reporter=./test/ci-summary-reporter.ts',
    ], { cwd: ROOT, env: { ...process.env, MERIDIAN_CI_SUMMARY: join(dir, 'summary.json'), FORCE_COLOR: '1' }, maxBuffer: 16 << 20 })
    stdout = run.stdout
    summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'))
  }, 60_000)

  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }) })

  it('counts the flaky tests as passed and names each', () => {
    expect(summary).toMatchObject({ passed: 7, failed: 0, failures: 0, failedTests: [] })
    expect(summary.flakyTests).toEqual([
      `${FILE}fails its first attempt on an assertion, then passes`,
      `${FILE}fails two attempts, then passes on the third`,
      `${FILE}fails its first attempt with a coloured, 60-line message, then passes`,
      `${FILE}fails five attempts with a 4-line message each, then passes on the sixth`,
      `${FILE}fails its first attempt, under a name used twice`,
      `${FILE}fails its first attempt, under a name used twice (#2 of that name)`,
    ])
    expect(Object.keys(summary.flakyErrors)).toEqual(summary.flakyTests)
  })

  it('keeps the errors of two flaky tests of one name apart', () => {
    const name = `${FILE}fails its first attempt, under a name used twice`
    expect(summary.flakyErrors[name]![0]).toBe('attempt 1 of 2: twin at location a failed')
    expect(summary.flakyErrors[`${name} (#2 of that name)`]![0]).toBe('attempt 1 of 2: twin at location b failed')
  })

  it("keeps the first attempt's assertion: its message, expected against received, and the line that threw", () => {
    const lines = summary.flakyErrors[`${FILE}fails its first attempt on an assertion, then passes`]!
    expect(lines[0]).toBe('attempt 1 of 2: AssertionError: pushes acknowledged: expected 1 to be 2 // Object.is equality')
    expect(lines).toContain('    - 2')
    expect(lines).toContain('    + 1')
    expect(lines.at(-1)).toMatch(new RegExp(`^    at ${FIXTURE}:20:\\d+$`))
  })

  it('keeps every failed attempt, in order', () => {
    const lines = summary.flakyErrors[`${FILE}fails two attempts, then passes on the third`]!
    expect(lines.filter((l) => l.startsWith('attempt'))).toEqual([
      'attempt 1 of 3: origin not ready on attempt 1',
      'attempt 2 of 3: origin not ready on attempt 2',
    ])
  })

  it('strips colour codes and bounds a long error', () => {
    const lines = summary.flakyErrors[`${FILE}fails its first attempt with a coloured, 60-line message, then passes`]!
    expect(lines[0]).toBe('attempt 1 of 2: RangeError: location a refused the write')
    expect(lines[1]).toBe('  detail line 1')
    expect(lines.length).toBeLessThanOrEqual(MAX_ERROR_LINES)
    expect(lines.join('\n')).not.toContain('\x1b')
    expect(lines).toContain('  … 57 more lines')
  })

  it('bounds the errors of many failed attempts to MAX_ERROR_LINES, saying how many lines were left out', () => {
    const lines = summary.flakyErrors[`${FILE}fails five attempts with a 4-line message each, then passes on the sixth`]!
    // 5 attempts × (4 message lines + 1 frame) = 25 lines: 19 kept, then the count of the other 6.
    expect(lines).toHaveLength(MAX_ERROR_LINES)
    expect(lines.slice(0, 2)).toEqual(['attempt 1 of 6: attempt 1 failed', '  location a: EROFS'])
    expect(lines.at(-1)).toBe('… 6 more lines')
  })

  it('prints each flaky test with its errors under it', () => {
    const printed = stdout.split('\n').filter((l) => l.startsWith('ci-summary: '))
    const at = printed.indexOf(`ci-summary: flaky (failed, then passed on retry): ${FILE}fails its first attempt on an assertion, then passes`)
    expect(at).toBeGreaterThanOrEqual(0)
    expect(printed[at + 1]).toBe('ci-summary:     attempt 1 of 2: AssertionError: pushes acknowledged: expected 1 to be 2 // Object.is equality')
    expect(stdout).not.toContain('\x1b')
    expect(printed.at(-1)).toBe('ci-summary: 7 passed, 0 failed, 0 skipped')
  })
})
