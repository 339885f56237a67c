// Preloaded into the soak test's origin and worker (`node --expose-gc --import <this> dist/…`):
// SIGUSR2 runs a full garbage collection now and says so on stderr. Forcing the collection is what
// makes the soak deterministic: better-sqlite3 12 on Node 24 aborts when the collector frees a
// prepared statement, which otherwise happens at some unpredictable idle moment. Production
// processes never load this file; without --expose-gc it installs nothing.
if (typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    globalThis.gc()
    const { rss, heapUsed } = process.memoryUsage()
    process.stderr.write(`soak-gc done rss=${rss} heapUsed=${heapUsed}\n`)
  })
}
