// distribution-spec "Mounting a blob from another repository" (end-11): 201 when the blob can be
// mounted; otherwise the registry falls back to an ordinary upload session (202).

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { at, bytesOf, closeUpload, pushBlob, randomBytes, sha256, uniqueName } from '../helpers/registry-client.ts'

let origin: TestOrigin
beforeAll(async () => { origin = await startTestOrigin() })
afterAll(() => origin?.close())

function mount(name: string, query: string): Promise<Response> {
  return fetch(at(origin.url, `/v2/${name}/blobs/uploads/?${query}`), { method: 'POST' })
}

/** Asserts a 202 upload session and returns its absolute URL. */
function expectSession(res: Response, name: string): string {
  expect(res.status).toBe(202)
  const location = res.headers.get('location')!
  expect(location).toMatch(new RegExp(`^/v2/${name}/blobs/uploads/[^/?]+$`))
  return at(origin.url, location)
}

describe('cross-repository mount', () => {
  it('mounts a blob that is in `from`: 201, Location, Docker-Content-Digest, and it reads back', async () => {
    const source = uniqueName()
    const target = uniqueName()
    const bytes = randomBytes(1234)
    const { digest } = await pushBlob(origin.url, source, bytes)
    const res = await mount(target, `mount=${digest}&from=${source}`)
    expect(res.status).toBe(201)
    expect(res.headers.get('location')).toBe(`/v2/${target}/blobs/${digest}`)
    expect(res.headers.get('docker-content-digest')).toBe(digest)
    const got = await fetch(at(origin.url, `/v2/${target}/blobs/${digest}`))
    expect(await bytesOf(got)).toEqual(bytes)
  })

  it('opens an upload session when the blob is not in `from`, even if another repository has it', async () => {
    const holder = uniqueName()
    const source = uniqueName()
    const target = uniqueName()
    const bytes = randomBytes(50)
    const { digest } = await pushBlob(origin.url, holder, bytes)
    await pushBlob(origin.url, source, randomBytes(10))
    const upload = expectSession(await mount(target, `mount=${digest}&from=${source}`), target)
    // The blob was not mounted...
    expect((await fetch(at(origin.url, `/v2/${target}/blobs/${digest}`))).status).toBe(404)
    // ...but the session is a real one the client can finish.
    expect((await closeUpload(upload, digest, bytes)).status).toBe(201)
    expect((await fetch(at(origin.url, `/v2/${target}/blobs/${digest}`))).status).toBe(200)
  })

  it('opens an upload session when `from` does not exist', async () => {
    const target = uniqueName()
    const digest = sha256(randomBytes(8))
    expectSession(await mount(target, `mount=${digest}&from=${uniqueName('nobody')}`), target)
  })

  it('opens an upload session when the blob is unknown to the registry', async () => {
    const source = uniqueName()
    await pushBlob(origin.url, source, randomBytes(8))
    const target = uniqueName()
    expectSession(await mount(target, `mount=${sha256(randomBytes(8))}&from=${source}`), target)
  })

  it('falls back to a session when the mount arguments are invalid (spec: "invalid repository or digest arguments")', async () => {
    const source = uniqueName()
    const { digest } = await pushBlob(origin.url, source, randomBytes(8))
    const target = uniqueName()
    expectSession(await mount(target, `mount=sha256:xyz&from=${source}`), target)
    expectSession(await mount(target, `mount=${digest}&from=NOT//VALID`), target)
  })

  it('without `from`, mounts a blob the registry holds in any repository', async () => {
    const holder = uniqueName()
    const target = uniqueName()
    const bytes = randomBytes(300)
    const { digest } = await pushBlob(origin.url, holder, bytes)
    const res = await mount(target, `mount=${digest}`)
    expect(res.status).toBe(201)
    expect(res.headers.get('docker-content-digest')).toBe(digest)
    expect(await bytesOf(await fetch(at(origin.url, `/v2/${target}/blobs/${digest}`)))).toEqual(bytes)
  })

  it('without `from`, opens a session for a blob the registry does not hold', async () => {
    const target = uniqueName()
    expectSession(await mount(target, `mount=${sha256(randomBytes(8))}`), target)
  })

  it('mounting into a repository that already has the blob is still 201', async () => {
    const source = uniqueName()
    const target = uniqueName()
    const bytes = randomBytes(64)
    const { digest } = await pushBlob(origin.url, source, bytes)
    await pushBlob(origin.url, target, bytes)
    expect((await mount(target, `mount=${digest}&from=${source}`)).status).toBe(201)
  })

  it('a mounted blob stays readable in the target when the source deletes its copy', async () => {
    const source = uniqueName()
    const target = uniqueName()
    const bytes = randomBytes(64)
    const { digest } = await pushBlob(origin.url, source, bytes)
    expect((await mount(target, `mount=${digest}&from=${source}`)).status).toBe(201)
    expect((await fetch(at(origin.url, `/v2/${source}/blobs/${digest}`), { method: 'DELETE' })).status).toBe(202)
    expect((await fetch(at(origin.url, `/v2/${source}/blobs/${digest}`))).status).toBe(404)
    expect(await bytesOf(await fetch(at(origin.url, `/v2/${target}/blobs/${digest}`)))).toEqual(bytes)
  })
})
