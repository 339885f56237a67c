// Who a failed PATCH blames. A request body that breaks off is the client's fault (400, the
// location stays healthy); a fault of the server's own during the same PATCH (the database locked
// past busy_timeout, a bug) must come out as a 5xx that docker retries, logged, its text not echoed.

import { connect } from 'node:net'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadSqliteDriver } from '../../db/sqlite-driver.ts'
import type { Logger } from '../../origin/log.ts'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { closeUpload, expectOciError, openUpload, patchChunk, randomBytes, rangeOf, sha256, uniqueName } from '../helpers/registry-client.ts'
import { testDatabaseKind } from '../helpers/test-database.ts'

const errors: { msg: string; fields: unknown }[] = []
const log: Logger = { debug() {}, info() {}, warn() {}, error: (msg, fields) => { errors.push({ msg, fields }) } }

let origin: TestOrigin
beforeAll(async () => { origin = await startTestOrigin({ log }) })
afterAll(() => origin?.close())

describe('a PATCH that fails', () => {
  // SQLite only: the fault is SQLite's file write lock held by another process (PostgreSQL has none).
  it.skipIf(testDatabaseKind() === 'postgres')('answers 500, not 400, when the database stays locked past busy_timeout, and the retry succeeds', async () => {
    const upload = await openUpload(origin.url, uniqueName())
    const preferred = origin.locations.writeOrder()[0]!.id
    const [{ timeout: before }] = await origin.db.$all<{ timeout: number }>(sql`PRAGMA busy_timeout`)
    await origin.db.$all(sql`PRAGMA busy_timeout = 50`)
    // Another process (npm run worker, a script) holding the write lock.
    const Sqlite = loadSqliteDriver()
    const other = new Sqlite(origin.config.databaseUrl.replace(/^sqlite:/, ''))
    other.exec('BEGIN IMMEDIATE')
    const chunk = randomBytes(4096)
    try {
      const body = await expectOciError(await patchChunk(upload, chunk, 0), 'UNKNOWN', 500)
      expect(JSON.stringify(body)).not.toMatch(/SQLITE|locked/i)
    } finally {
      other.exec('ROLLBACK')
      other.close()
      await origin.db.$all(sql.raw(`PRAGMA busy_timeout = ${Number(before)}`))
    }
    expect(errors.some((e) => /SQLITE_BUSY|locked/.test(JSON.stringify(e.fields)))).toBe(true)
    // Not the location's fault, and the session did not move: the same chunk goes in on retry.
    expect(origin.locations.isHealthy(preferred)).toBe(true)
    expect(await rangeOf(upload)).toBe('0-0')
    // The part stored before the database refused its row is gone, not left for gc.
    const id = new URL(upload).pathname.split('/').pop()!
    expect((await origin.locations.get(preferred)!.engine.list(`uploads/${id}/`)).keys).toEqual([])
    expect((await patchChunk(upload, chunk, 0)).status).toBe(202)
    expect((await closeUpload(upload, sha256(chunk))).status).toBe(201)
  })

  it('is the client\'s when it goes away mid-body: no server error logged, nothing stored, the location healthy', async () => {
    const upload = await openUpload(origin.url, uniqueName())
    const preferred = origin.locations.writeOrder()[0]!.id
    const logged = errors.length
    // A streamed PATCH (no Content-Length, so no declared length to check a part against).
    await sendChunkedThenDrop(upload, randomBytes(3000))
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(errors.slice(logged)).toEqual([])
    expect(origin.locations.isHealthy(preferred)).toBe(true)
    expect(await rangeOf(upload)).toBe('0-0')
  })
})

/** A PATCH with chunked transfer encoding that sends one chunk, then drops the connection. */
function sendChunkedThenDrop(uploadUrl: string, bytes: Uint8Array): Promise<void> {
  const url = new URL(uploadUrl)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(`PATCH ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n`)
      socket.write(`${bytes.byteLength.toString(16)}\r\n`)
      socket.write(bytes)
      socket.write('\r\n', () => setTimeout(() => { socket.destroy(); resolve() }, 50))
    })
    socket.on('error', reject)
  })
}
