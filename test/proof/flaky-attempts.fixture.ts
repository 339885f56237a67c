// Only for test/ci-summary-reporter.test.ts, which runs it in a vitest of its own with retries on
// (the name keeps it out of the suite's `**/*.test.ts`): tests that fail on their first attempts
// and pass on a retry, each failing in a way the CI summary must report readably. A retry re-runs
// the test function in the same module, so a counter per test tells the attempts apart.

import { expect, it } from 'vitest'

const attempts = new Map<string, number>()
const attempt = (test: string) => {
  const n = (attempts.get(test) ?? 0) + 1
  attempts.set(test, n)
  return n
}

it('passes on its first attempt', () => {
  expect(attempt('steady')).toBe(1)
})

it('fails its first attempt on an assertion, then passes', () => {
  expect(attempt('assertion'), 'pushes acknowledged').toBe(2)
})

it('fails two attempts, then passes on the third', { retry: 2 }, () => {
  const n = attempt('twice')
  if (n < 3) throw new Error(`origin not ready on attempt ${n}`)
})

it('fails its first attempt with a coloured, 60-line message, then passes', () => {
  if (attempt('long') === 1) {
    const lines = Array.from({ length: 60 }, (_, i) => `\x1b[31mdetail line ${i + 1}\x1b[39m`)
    throw new RangeError(`\x1b[1mlocation a\x1b[22m refused the write\n${lines.join('\n')}`)
  }
})

it('fails five attempts with a 4-line message each, then passes on the sixth', { retry: 5 }, () => {
  const n = attempt('five')
  if (n < 6) throw new Error(`attempt ${n} failed\nlocation a: EROFS\nlocation b: EROFS\nno location takes writes`)
})

// Two tests of one name, each flaky with its own error: the summary must keep both.
for (const location of ['a', 'b']) {
  it('fails its first attempt, under a name used twice', () => {
    if (attempt(`twin ${location}`) === 1) throw new Error(`twin at location ${location} failed`)
  })
}
