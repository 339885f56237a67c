// What clients see when storage fails under them: skopeo pushing and pulling through a fault, an
// upload session caught in a location that stops taking writes (moved while it holds no part,
// finished elsewhere when its parts can still be read, else 503 UNAVAILABLE), and no writable
// location at all (503, reads go on). Real faults: storage-fault-kit.ts. README "Storage faults
// and location health".

import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { at, expectOciError, randomBytes, sha256 } from '../helpers/registry-client.ts'
import { blobPath, writeImageLayout } from '../helpers/oci-layout.ts'
import { dockerRef, PULL_FLAGS, PUSH_FLAGS, skopeo } from '../helpers/skopeo.ts'
import { canMount, expectNoPlacementLost, expectPull, injectFault, metric, presentIn, pushMixedImage, startFaultEnv, waitForReplication, type FaultEnv } from './storage-fault-kit.ts'

describe.skipIf(!canMount)('clients during storage faults', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

  async function env(): Promise<FaultEnv> {
    const e = await startFaultEnv()
    cleanups.push(() => e.close())
    return e
  }

  it('skopeo pushes to the next location while the preferred one is read-only, and pulls the image back intact', async () => {
    const e = await env()
    const dir = mkdtempSync(join(tmpdir(), 'meridian-faults-skopeo-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    // A push right before the fault: the origin's last write probe said "a takes writes".
    await pushMixedImage(e.origin.url, 'faults/warm', 'v1')
    const repair = injectFault(e, 'a', 'read-only')
    cleanups.push(async () => { try { await repair() } catch { /* done below */ } })
    const image = await writeImageLayout(join(dir, 'src'), { layers: [1000, 300_000], tag: 'v1', seed: randomUUID() })
    const digestFile = join(dir, 'digest')
    await skopeo(['copy', ...PUSH_FLAGS, '--digestfile', digestFile, `oci:${join(dir, 'src')}:v1`, dockerRef(e.origin.url, 'faults/skopeo', 'v1')])
    expect(readFileSync(digestFile, 'utf8').trim()).toBe(image.manifest.digest)
    for (const digest of [image.manifest.digest, image.config.digest, ...image.layers.map((l) => l.digest)]) expect(await presentIn(e, digest)).toEqual(['b'])
    await skopeo(['copy', ...PULL_FLAGS, dockerRef(e.origin.url, 'faults/skopeo', 'v1'), `oci:${join(dir, 'pulled')}:v1`])
    for (const layer of image.layers) expect(readFileSync(blobPath(join(dir, 'pulled'), layer.digest)).equals(readFileSync(blobPath(join(dir, 'src'), layer.digest)))).toBe(true)
    expect(await metric(e.origin.url, 'meridian_push_fallback_total{preferred="a",used="b"}')).toBeGreaterThanOrEqual(4)
    await repair()
    await waitForReplication(e.origin.db, { timeoutMs: 20_000 })
    await expectNoPlacementLost(e)
  }, 120_000)

  it('moves a session that holds no part, and finishes one whose parts can still be read, in the next location', async () => {
    const e = await env()
    const url = e.origin.url
    const open = async () => at(url, (await fetch(at(url, '/v2/faults/sessions/blobs/uploads/'), { method: 'POST' })).headers.get('location')!)
    const empty = await open()
    const started = await open()
    const bytes = randomBytes(200_000)
    expect((await fetch(started, { method: 'PATCH', headers: { 'Content-Range': '0-99999' }, body: bytes.subarray(0, 100_000) })).status).toBe(202)
    injectFault(e, 'a', 'read-only')
    // No part yet: the chunk goes to b, where the session now lives.
    const moved = await fetch(empty, { method: 'PATCH', headers: { 'Content-Range': '0-99999' }, body: bytes.subarray(0, 100_000) })
    expect(moved.status).toBe(202)
    // Parts in a: a next chunk cannot go anywhere else.
    const stuck = await fetch(started, { method: 'PATCH', headers: { 'Content-Range': '100000-199999' }, body: bytes.subarray(100_000) })
    const body = await expectOciError(stuck, 'UNAVAILABLE', 503)
    expect(body.errors[0].message).toMatch(/holds its parts/)
    // But it can be finished: its parts are read from a and the blob is written to b.
    const head = bytes.subarray(0, 100_000)
    // (Upload Locations carry no query string: the digest is the only parameter.)
    const finished = await fetch(`${started}?digest=${sha256(head)}`, { method: 'PUT' })
    expect(finished.status, await finished.clone().text()).toBe(201)
    const close = await fetch(`${at(url, moved.headers.get('location')!)}?digest=${sha256(head)}`, { method: 'PUT' })
    expect(close.status).toBe(201)
    expect(await presentIn(e, sha256(head))).toEqual(['b'])
  }, 30_000)

  it('answers 503 UNAVAILABLE to a session whose location vanished, and to pushes when no location takes writes; pulls go on', async () => {
    const e = await env()
    const url = e.origin.url
    const image = await pushMixedImage(url, 'faults/none', 'v1')
    await waitForReplication(e.origin.db, { timeoutMs: 15_000 })
    const upload = at(url, (await fetch(at(url, '/v2/faults/none/blobs/uploads/'), { method: 'POST' })).headers.get('location')!)
    const part = randomBytes(1000)
    expect((await fetch(upload, { method: 'PATCH', headers: { 'Content-Range': '0-999' }, body: part })).status).toBe(202)
    injectFault(e, 'a', 'renamed')
    await expectOciError(await fetch(`${upload}?digest=${sha256(part)}`, { method: 'PUT' }), 'UNAVAILABLE', 503)
    injectFault(e, 'b', 'read-only')
    await expectOciError(await fetch(at(url, `/v2/faults/none/blobs/uploads/?digest=${sha256(part)}`), { method: 'POST', body: part }), 'UNAVAILABLE', 503)
    await expectOciError(await fetch(at(url, '/v2/faults/none/blobs/uploads/'), { method: 'POST' }), 'UNAVAILABLE', 503)
    await expectPull(url, image)
  }, 30_000)
})
