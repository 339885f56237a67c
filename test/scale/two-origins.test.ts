// Two origins on one database (issue #11 "Several origins and workers"): each push lands first in
// its origin's preferred location and is replicated to the other, and an upload session opened on
// one origin is continued, raced and finished on the other. Runs on SQLite and PostgreSQL.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jobsOf } from '../../db/queries/replication.ts'
import { placementsOf } from '../../db/queries/placements.ts'
import { uploadPrefix } from '../../storage/keys.ts'
import {
  at, bytesOf, closeUpload, openUpload, patchChunk, pushBlob, randomBytes, rangeOf, sha256, uniqueName,
} from '../helpers/registry-client.ts'
import { placementProblems, waitForReplication } from '../helpers/replication.ts'
import { EU, US, startOriginPair, type OriginPair } from './origin-pair.ts'

describe('two origins with different storage preferences on one database', () => {
  let pair: OriginPair
  beforeAll(async () => { pair = await startOriginPair() })
  afterAll(async () => { await pair?.close() })

  /**
   * The blob as origin `url` serves it, by digest of the bytes received. (Not toEqual on the bytes:
   * comparing 100 KiB element by element blocks the event loop for seconds, which these origins
   * share, and an idle keep-alive connection then meets the server's keep-alive timeout.)
   */
  async function pulledDigest(url: string, name: string, digest: string): Promise<string> {
    const res = await fetch(at(url, `/v2/${name}/blobs/${digest}`))
    expect(res.status).toBe(200)
    return sha256(await bytesOf(res))
  }

  /** The upload URL of `uploadUrl`'s session, on the other origin `url`. */
  function onOrigin(url: string, uploadUrl: string): string {
    const u = new URL(uploadUrl)
    return at(url, u.pathname + u.search)
  }

  it('lands each push in its origin\'s preferred location first, replicates it to the other, and serves the same bytes through both', async () => {
    const name = uniqueName('pair')
    const viaA = Array.from({ length: 5 }, () => randomBytes(100_000 + Math.floor(Math.random() * 1000)))
    const viaB = Array.from({ length: 5 }, () => randomBytes(100_000 + Math.floor(Math.random() * 1000)))
    // Concurrently through both origins, as two regions' clients would.
    await Promise.all([...viaA.map((b) => pushBlob(pair.a.url, name, b)), ...viaB.map((b) => pushBlob(pair.b.url, name, b))])
    await waitForReplication(pair.a.db)
    for (const [blobs, first, second] of [[viaA, EU, US], [viaB, US, EU]] as const) {
      for (const bytes of blobs) {
        const digest = sha256(bytes)
        const rows = await placementsOf(pair.a.db, digest)
        expect(rows.map((r) => [r.location, r.state]).sort(), digest).toEqual([[EU, 'present'], [US, 'present']])
        const at0 = rows.find((r) => r.location === first)!.verifiedAt
        expect(at0, `${digest} verified in ${first} before ${second}`).toBeLessThanOrEqual(rows.find((r) => r.location === second)!.verifiedAt)
        // The push stored the bytes in `first` (no job for it); one job copied them from there.
        const jobs = await jobsOf(pair.a.db, digest)
        expect(jobs.map((j) => [j.location, j.state, j.sourceLocation]), digest).toEqual([[second, 'done', first]])
        for (const url of [pair.a.url, pair.b.url]) expect(await pulledDigest(url, name, digest)).toBe(digest)
      }
    }
    expect(await placementProblems(pair.a.db, pair.a.locations)).toEqual([])
  })

  it('continues an upload session opened on origin A on origin B, and serves the blob from both', async () => {
    const name = uniqueName('resume')
    const chunks = [randomBytes(300_000), randomBytes(200_000), randomBytes(123_457)]
    const onA = await openUpload(pair.a.url, name)
    expect((await patchChunk(onA, chunks[0], 0)).status).toBe(202)
    const onB = onOrigin(pair.b.url, onA)
    expect(await rangeOf(onB)).toBe(`0-${chunks[0].byteLength - 1}`)
    expect((await patchChunk(onB, chunks[1], chunks[0].byteLength)).status).toBe(202)
    const whole = new Uint8Array(Buffer.concat(chunks))
    const res = await closeUpload(onB, sha256(whole), chunks[2])
    expect(res.status, await res.clone().text()).toBe(201)
    for (const url of [pair.a.url, pair.b.url]) expect(await pulledDigest(url, name, sha256(whole))).toBe(sha256(whole))
    // The session lived in A's preferred location; the blob was committed there first.
    const jobs = await jobsOf(pair.a.db, sha256(whole))
    expect(jobs.map((j) => j.location)).toEqual([US])
  })

  it('lets exactly one of two chunks racing for one offset on two origins win: the other gets 416 and nothing is lost or doubled', async () => {
    const eu = pair.a.locations.get(EU)!.engine
    const outcomes: string[] = []
    for (let round = 0; round < 8; round++) {
      const name = uniqueName('race')
      const first = randomBytes(64 * 1024)
      const onA = await openUpload(pair.a.url, name)
      const onB = onOrigin(pair.b.url, onA)
      expect((await patchChunk(onA, first, 0)).status).toBe(202)
      // Different bytes and lengths, so the stored blob tells which one won.
      const mine = randomBytes(512 * 1024)
      const theirs = randomBytes(512 * 1024 + 1)
      const [ra, rb] = await Promise.all([patchChunk(onA, mine, first.byteLength), patchChunk(onB, theirs, first.byteLength)])
      outcomes.push(`${ra.status}/${rb.status}`)
      expect([ra.status, rb.status].sort(), `round ${round}`).toEqual([202, 416])
      const winner = ra.status === 202 ? mine : theirs
      const loserUrl = ra.status === 202 ? onB : onA
      // Whichever origin is asked, the session holds the first chunk and the winner's, nothing else.
      expect(await rangeOf(onA)).toBe(`0-${first.byteLength + winner.byteLength - 1}`)
      expect(await rangeOf(onB)).toBe(`0-${first.byteLength + winner.byteLength - 1}`)
      const id = new URL(onA).pathname.split('/').pop()!
      expect((await eu.list(uploadPrefix(id))).keys.map((k) => k.size).sort((x, y) => x - y)).toEqual([first.byteLength, winner.byteLength])
      // The origin whose chunk lost finishes the upload.
      const whole = new Uint8Array(Buffer.concat([first, winner]))
      const res = await closeUpload(loserUrl, sha256(whole))
      expect(res.status, await res.clone().text()).toBe(201)
      for (const url of [pair.a.url, pair.b.url]) expect(await pulledDigest(url, name, sha256(whole))).toBe(sha256(whole))
      expect((await eu.list(uploadPrefix(id))).keys).toEqual([])
    }
    console.log(`racing chunks, A/B statuses per round: ${outcomes.join(' ')}`)
  })
})
