// Access control end to end at a real origin, over HTTP as a client sees it: challenges, tokens
// from the token endpoint, pushes and pulls with them, refusals that change nothing, public
// repositories, the filtered catalog, and mount's `from=` needing pull on the source.

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestOrigin } from '../helpers/origin.ts'
import { OCI_IMAGE_CONFIG } from '../../oci/media-types.ts'
import { OCI_LAYER, OCI_MANIFEST, at, imageManifest, randomBytes, sha256, utf8, type Bytes } from '../helpers/registry-client.ts'
import { adminCall, serviceOf, startAuthOrigin, storageFingerprint, tokenFor, withToken, writeFingerprint } from './origin-client.ts'

// No retry (CI retries failing tests once): a refusal that wrote something would, on a second
// attempt, compare against the state it left and pass. A security failure must fail.
const NO_RETRY = { retry: 0 }

let origin: TestOrigin
let admin: { user: string; secret: string }
const alice = { user: 'alice', secret: 'alice has a long password' }
let reader: { user: string; secret: string }

beforeAll(async () => {
  origin = await startAuthOrigin()
  admin = { user: 'admin', secret: readFileSync(join(origin.dataDir, 'admin-password'), 'utf8').trim() }
  await adminCall(origin, 'POST', '/accounts', { name: alice.user, password: alice.secret })
  await adminCall(origin, 'POST', '/accounts/alice/grants', { target: 'team/*', actions: ['push'] })
  const robot = await (await adminCall(origin, 'POST', '/robots', { namespace: 'team', name: 'reader' })).json() as { secret: string }
  reader = { user: 'team+reader', secret: robot.secret }
  await adminCall(origin, 'POST', '/accounts/team+reader/grants', { target: 'team/app', actions: ['pull'] })
})

afterAll(async () => {
  await origin?.close()
})

/** A blob pushed with `token`: POST opens the session, PUT ?digest= closes it (end-4a, end-6). */
async function pushBlob(token: string, name: string, bytes: Bytes): Promise<{ digest: string; size: number }> {
  const call = withToken(token)
  const opened = await call(at(origin.url, `/v2/${name}/blobs/uploads/`), { method: 'POST' })
  expect(opened.status, await opened.clone().text()).toBe(202)
  const target = new URL(at(origin.url, opened.headers.get('location')!))
  const digest = sha256(bytes)
  target.searchParams.set('digest', digest)
  const closed = await call(target.toString(), { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes })
  expect(closed.status, await closed.clone().text()).toBe(201)
  return { digest, size: bytes.byteLength }
}

async function pushImage(token: string, name: string, tag: string): Promise<{ manifest: string; layer: string }> {
  const config = await pushBlob(token, name, utf8(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: Math.random() })))
  const layer = await pushBlob(token, name, randomBytes(256))
  const body = utf8(JSON.stringify(imageManifest({ mediaType: OCI_IMAGE_CONFIG, ...config }, [{ mediaType: OCI_LAYER, ...layer }])))
  const res = await withToken(token)(at(origin.url, `/v2/${name}/manifests/${tag}`), { method: 'PUT', headers: { 'content-type': OCI_MANIFEST }, body })
  expect(res.status, await res.clone().text()).toBe(201)
  return { manifest: sha256(body), layer: layer.digest }
}

function claimsOf(token: string): { sub: string; access: Array<{ type: string; name: string; actions: string[] }> } {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as ReturnType<typeof claimsOf>
}

async function expectRefused(res: Response, error?: 'insufficient_scope' | 'invalid_token'): Promise<string> {
  expect(res.status).toBe(401)
  const body = await res.json() as { errors: Array<{ code: string }> }
  expect(body.errors[0]!.code).toBe('UNAUTHORIZED')
  const challenge = res.headers.get('www-authenticate') ?? ''
  if (error) expect(challenge).toContain(`error="${error}"`)
  else expect(challenge).not.toContain('error=')
  return challenge
}

describe('pushing', NO_RETRY, () => {
  it('refuses an anonymous push with the challenge that names realm, service and scope', async () => {
    const before = await writeFingerprint(origin.db)
    const res = await fetch(`${origin.url}/v2/team/app/blobs/uploads/`, { method: 'POST' })
    const challenge = await expectRefused(res)
    expect(challenge).toBe(`Bearer realm="${origin.url}/v2/token",service="${serviceOf(origin)}",scope="repository:team/app:pull,push"`)
    expect(await writeFingerprint(origin.db)).toEqual(before)
  })

  it('challenges the /v2/ ping without a scope', async () => {
    for (const path of ['/v2/', '/v2']) {
      const challenge = await expectRefused(await fetch(`${origin.url}${path}`))
      expect(challenge).toBe(`Bearer realm="${origin.url}/v2/token",service="${serviceOf(origin)}"`)
    }
  })

  it('lets a user with a grant push blobs and a manifest, then pull them', async () => {
    const token = await tokenFor(origin, ['repository:team/app:pull,push'], alice)
    expect(claimsOf(token)).toMatchObject({ sub: 'alice', access: [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }] })
    expect((await withToken(token)(`${origin.url}/v2/`)).status).toBe(200)
    const { manifest } = await pushImage(token, 'team/app', 'v1')
    const pulled = await withToken(token)(`${origin.url}/v2/team/app/manifests/v1`, { headers: { accept: OCI_MANIFEST } })
    expect(pulled.status).toBe(200)
    expect(pulled.headers.get('docker-content-digest')).toBe(manifest)
  })

  it('refuses a bad token as invalid_token', async () => {
    const token = await tokenFor(origin, ['repository:team/app:pull'], alice)
    const forged = `${token.slice(0, -4)}AAAA`
    await expectRefused(await withToken(forged)(`${origin.url}/v2/team/app/tags/list`), 'invalid_token')
  })

  it('gives a pull-only robot a pull-only token: its push is refused and nothing changes', async () => {
    const token = await tokenFor(origin, ['repository:team/app:pull,push'], reader)
    expect(claimsOf(token).access).toEqual([{ type: 'repository', name: 'team/app', actions: ['pull'] }])
    expect((await withToken(token)(`${origin.url}/v2/team/app/tags/list`)).status).toBe(200)

    const rows = await writeFingerprint(origin.db)
    const files = storageFingerprint(origin.dataDir)
    const call = withToken(token)
    const bytes = randomBytes(100)
    await expectRefused(await call(`${origin.url}/v2/team/app/blobs/uploads/`, { method: 'POST' }), 'insufficient_scope')
    await expectRefused(await call(`${origin.url}/v2/team/app/blobs/uploads/?digest=${sha256(bytes)}`, { method: 'POST', body: bytes }), 'insufficient_scope')
    await expectRefused(await call(`${origin.url}/v2/team/app/manifests/v2`, { method: 'PUT', headers: { 'content-type': OCI_MANIFEST }, body: '{}' }), 'insufficient_scope')
    await expectRefused(await call(`${origin.url}/v2/team/app/manifests/v1`, { method: 'DELETE' }), 'insufficient_scope')
    expect(await writeFingerprint(origin.db)).toEqual(rows)
    expect(storageFingerprint(origin.dataDir)).toEqual(files)
  })
})

describe('public repositories and the catalog', NO_RETRY, () => {
  let secretImage: { manifest: string; layer: string }

  beforeAll(async () => {
    const adminToken = await tokenFor(origin, ['repository:other/secret:pull,push'], admin)
    secretImage = await pushImage(adminToken, 'other/secret', 'v1')
    const aliceToken = await tokenFor(origin, ['repository:team/base:pull,push'], alice)
    await pushImage(aliceToken, 'team/base', 'v1')
    expect((await adminCall(origin, 'PUT', '/public-repositories/team/base')).status).toBe(200)
  })

  it('serves a public repository to anonymous clients without a token, and nothing private', async () => {
    const manifest = await fetch(`${origin.url}/v2/team/base/manifests/v1`, { headers: { accept: OCI_MANIFEST } })
    expect(manifest.status).toBe(200)
    const { layers } = await manifest.json() as { layers: Array<{ digest: string }> }
    expect((await fetch(`${origin.url}/v2/team/base/blobs/${layers[0]!.digest}`)).status).toBe(200)
    await expectRefused(await fetch(`${origin.url}/v2/other/secret/manifests/v1`))
    await expectRefused(await fetch(`${origin.url}/v2/team/base/blobs/uploads/`, { method: 'POST' }))
    // An anonymous token asking for more gets pull on the public one only.
    const anonymous = await tokenFor(origin, ['repository:team/base:pull,push', 'repository:other/secret:pull'])
    expect(claimsOf(anonymous)).toMatchObject({ sub: '', access: [{ type: 'repository', name: 'team/base', actions: ['pull'] }] })
  })

  it('lists in the catalog only what the caller may pull', async () => {
    const catalog = async (token: string) => ((await (await withToken(token)(`${origin.url}/v2/_catalog`)).json()) as { repositories: string[] }).repositories
    await expectRefused(await fetch(`${origin.url}/v2/_catalog`))
    expect(await catalog(await tokenFor(origin, ['registry:catalog:*'], admin))).toEqual(['other/secret', 'team/app', 'team/base'])
    expect(await catalog(await tokenFor(origin, ['registry:catalog:*'], alice))).toEqual(['team/app', 'team/base'])
    expect(await catalog(await tokenFor(origin, ['registry:catalog:*'], reader))).toEqual(['team/app', 'team/base'])
    expect(await catalog(await tokenFor(origin, ['registry:catalog:*']))).toEqual(['team/base'])
  })

  it('pages the filtered catalog without losing names', async () => {
    const token = await tokenFor(origin, ['registry:catalog:*'], alice)
    const first = await withToken(token)(`${origin.url}/v2/_catalog?n=1`)
    expect(((await first.json()) as { repositories: string[] }).repositories).toEqual(['team/app'])
    const next = /<([^>]+)>/.exec(first.headers.get('link') ?? '')![1]!
    const second = await withToken(token)(at(origin.url, next))
    expect(((await second.json()) as { repositories: string[] }).repositories).toEqual(['team/base'])
  })

  it('refuses a mount from a repository the caller may not pull, and links nothing', async () => {
    const token = await tokenFor(origin, ['repository:team/copy:pull,push', 'repository:other/secret:pull'], alice)
    expect(claimsOf(token).access).toEqual([{ type: 'repository', name: 'team/copy', actions: ['pull', 'push'] }])
    const rows = await writeFingerprint(origin.db)
    const mount = `${origin.url}/v2/team/copy/blobs/uploads/?mount=${secretImage.layer}&from=other/secret`
    const challenge = await expectRefused(await withToken(token)(mount, { method: 'POST' }), 'insufficient_scope')
    expect(challenge).toContain('repository:other/secret:pull')
    expect(await writeFingerprint(origin.db)).toEqual(rows)
    expect((await withToken(token)(`${origin.url}/v2/team/copy/blobs/${secretImage.layer}`, { method: 'HEAD' })).status).toBe(404)

    // With pull on the source (an admin's token), the same mount links the blob.
    const adminToken = await tokenFor(origin, ['repository:team/copy:pull,push', 'repository:other/secret:pull'], admin)
    expect((await withToken(adminToken)(mount, { method: 'POST' })).status).toBe(201)
  })
})
