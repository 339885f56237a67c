// Real clients against access control (issue #9 "Proof"): skopeo and podman, with `--creds` and
// with `login`, push, pull, list tags and delete at an origin with MERIDIAN_AUTH=on, where every
// request walks the token protocol (401 challenge, token endpoint with Basic credentials, bearer
// token). Also: anonymous pulls of a public repository, a robot account made and used from a
// shell script, a pull-only account whose push fails and leaves nothing behind, and the same
// pulls through a Node edge verifying tokens offline. Every login writes to a temp auth file.

import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAccount } from '../../db/queries/accounts.ts'
import { grantActions } from '../../db/queries/grants.ts'
import { setRepositoryPublic } from '../../db/queries/visibility.ts'
import { hashSecret } from '../../origin/auth/passwords.ts'
import { snapshotState } from '../auth/matrix-state.ts'
import { startRedirectingOrigin, startTestEdge, type TestEdge } from '../helpers/edge.ts'
import { readRef, writeImageLayout } from '../helpers/oci-layout.ts'
import type { TestOrigin } from '../helpers/origin.ts'
import { createPodman, loggedIn, podmanMissing, podmanRef, PODMAN_REGISTRY_FLAGS, writeRootfsLayout, type Podman } from '../helpers/podman.ts'
import { creds, dockerRef, PULL_FLAGS, PUSH_FLAGS, REGISTRY_FLAGS, skopeo, skopeoFails, skopeoLogin, tempAuthFile } from '../helpers/skopeo.ts'

// No retry (CI retries failing tests once): a refusal that wrote something would, on a second
// attempt, compare against the state it left and pass. A security failure must fail.
const NO_RETRY = { retry: 0 }

const REPO_ROOT = resolve(import.meta.dirname, '../..')
/** What containers/image says when the registry refuses for want of rights. */
const AUTH_ERROR = /unauthorized|authentication required|denied|insufficient_scope|401/i
/** Where podman and skopeo keep root's logins without REGISTRY_AUTH_FILE. */
const SYSTEM_AUTH_FILE = '/run/containers/0/auth.json'

const dev = { user: 'clients-dev', secret: `dev-${randomUUID()}` }
const reader = { user: 'clients-reader', secret: `reader-${randomUUID()}` }
// Fresh bytes per run: skopeo and podman share root's blob info cache across runs.
const run = randomUUID().slice(0, 8)

let origin: TestOrigin
let root: string
let counter = 0
const dir = (label: string) => join(root, `${label}-${++counter}`)
const authFile = (label: string) => tempAuthFile(join(root, `auth-${label}-${++counter}.json`))

/**
 * An OCI layout with one image tagged v1, its bytes unique to this run and label: random layers
 * for skopeo alone, a real tar layer for images podman pulls too (it unpacks what it pulls).
 */
async function layout(label: string, options: { unpackable?: boolean } = {}) {
  const path = dir(`layout-${label}`)
  if (options.unpackable) return { path, digest: writeRootfsLayout(path, 'v1', `${run}/${label}`).manifest }
  const image = await writeImageLayout(path, { layers: [512, 2048], tag: 'v1', seed: `${run}/${label}` })
  return { path, digest: image.manifest.digest }
}

async function tagsOf(url: string, name: string, extra: string[], options: { authFile?: string } = {}): Promise<string[]> {
  const { stdout } = await skopeo(['list-tags', ...REGISTRY_FLAGS, ...extra, dockerRef(url, name)], options)
  return (JSON.parse(stdout) as { Tags: string[] }).Tags
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'meridian-auth-clients-'))
  origin = await startRedirectingOrigin({ env: { MERIDIAN_AUTH: 'on' } })
  const { db } = origin
  const devRow = await createAccount(db, { name: dev.user, kind: 'user', secretHash: await hashSecret(dev.secret) })
  await grantActions(db, devRow.id, 'clients/*', ['push', 'delete'])
  const readerRow = await createAccount(db, { name: reader.user, kind: 'user', secretHash: await hashSecret(reader.secret) })
  await grantActions(db, readerRow.id, 'clients/*', ['pull'])
  await setRepositoryPublic(db, 'clients/public', true)
  const { path } = await layout('public', { unpackable: true })
  await skopeo(['copy', ...PUSH_FLAGS, '--dest-creds', creds(dev.user, dev.secret), `oci:${path}:v1`, dockerRef(origin.url, 'clients/public', 'v1')])
}, 60_000)

afterAll(async () => {
  await origin?.close()
  if (root) rmSync(root, { recursive: true, force: true })
})

describe('skopeo against an origin with access control', NO_RETRY, () => {
  it('pushes, pulls, lists tags and deletes with --creds, and is refused without them', async () => {
    const name = 'clients/skopeo-creds'
    const devCreds = creds(dev.user, dev.secret)
    const source = await layout(name)
    const digestFile = `${dir('digest')}.txt`
    await skopeo(['copy', ...PUSH_FLAGS, '--dest-creds', devCreds, '--digestfile', digestFile, `oci:${source.path}:v1`, dockerRef(origin.url, name, 'v1')])
    expect(readFileSync(digestFile, 'utf8').trim()).toBe(source.digest)

    const pulled = dir('pulled')
    await skopeo(['copy', ...PULL_FLAGS, '--src-creds', devCreds, dockerRef(origin.url, name, 'v1'), `oci:${pulled}:v1`])
    expect(readRef(pulled, 'v1')?.digest).toBe(source.digest)
    expect(await tagsOf(origin.url, name, ['--creds', devCreds])).toEqual(['v1'])

    const anonymous = { authFile: authFile('none') }
    expect((await skopeoFails(['inspect', ...REGISTRY_FLAGS, dockerRef(origin.url, name, 'v1')], anonymous)).stderr).toMatch(AUTH_ERROR)
    expect((await skopeoFails(['inspect', ...REGISTRY_FLAGS, '--creds', `${dev.user}:wrong-password`, dockerRef(origin.url, name, 'v1')], anonymous)).stderr).toMatch(AUTH_ERROR)

    await skopeo(['delete', ...REGISTRY_FLAGS, '--creds', devCreds, dockerRef(origin.url, name, source.digest)])
    const gone = await skopeoFails(['inspect', ...REGISTRY_FLAGS, '--creds', devCreds, dockerRef(origin.url, name, 'v1')])
    expect(gone.stderr).toMatch(/manifest unknown|not found/i)
  })

  it('logs in once into a temp auth file, which every later command uses', async () => {
    const name = 'clients/skopeo-login'
    const auth = authFile('skopeo-login')
    await skopeoLogin(origin.url, dev.user, dev.secret, auth)
    expect(loggedIn(auth, origin.url)).not.toBeNull()
    expect(readFileSync(auth, 'utf8')).not.toContain(dev.secret) // base64 "user:secret", never the plain secret
    const source = await layout(name)
    await skopeo(['copy', ...PUSH_FLAGS, `oci:${source.path}:v1`, dockerRef(origin.url, name, 'v1')], { authFile: auth })
    await skopeo(['copy', ...PULL_FLAGS, dockerRef(origin.url, name, 'v1'), `oci:${dir('pulled')}:v1`], { authFile: auth })
    expect(await tagsOf(origin.url, name, [], { authFile: auth })).toEqual(['v1'])
    await skopeo(['delete', ...REGISTRY_FLAGS, dockerRef(origin.url, name, 'v1')], { authFile: auth })
    expect(await tagsOf(origin.url, name, [], { authFile: auth })).toEqual([])

    await skopeo(['logout', new URL(origin.url).host], { authFile: auth })
    expect(loggedIn(auth, origin.url)).toBeNull()
    if (existsSync(SYSTEM_AUTH_FILE)) expect(readFileSync(SYSTEM_AUTH_FILE, 'utf8')).not.toContain(new URL(origin.url).host)
  })

  it('pulls a public repository anonymously', async () => {
    const pulled = dir('public')
    await skopeo(['copy', ...PULL_FLAGS, dockerRef(origin.url, 'clients/public', 'v1'), `oci:${pulled}:v1`], { authFile: authFile('anonymous') })
    expect(readRef(pulled, 'v1')).not.toBeNull()
  })

  it("fails a pull-only account's push with an auth error, leaving nothing in the database or storage", async () => {
    const name = 'clients/refused'
    const source = await layout(name)
    const before = await snapshotState(origin.db, origin.locations)
    const failed = await skopeoFails(['copy', ...PUSH_FLAGS, '--dest-creds', creds(reader.user, reader.secret), `oci:${source.path}:v1`, dockerRef(origin.url, name, 'v1')])
    expect(failed.stderr).toMatch(AUTH_ERROR)
    expect(await snapshotState(origin.db, origin.locations)).toEqual(before)
    const missing = await skopeoFails(['list-tags', ...REGISTRY_FLAGS, '--creds', creds(dev.user, dev.secret), dockerRef(origin.url, name)])
    expect(missing.stderr).toMatch(/404|name unknown/i)
  })

  it('uses a robot account made by `npm run admin` from a shell script', async () => {
    const source = await layout('robot')
    const script = join(root, 'robot.sh')
    // What an operator's CI script does: create the robot (its secret is printed once), grant it
    // push on one repository, log in with the secret on stdin, push, list the tags.
    writeFileSync(script, [
      'set -eu',
      'out=$(npm run --silent admin -- robot create clients ci)',
      `secret=$(printf '%s\\n' "$out" | sed -n 's/^secret (shown once, store it now): //p')`,
      'test -n "$secret"',
      'npm run --silent admin -- grant clients+ci clients/robot push >/dev/null',
      `printf '%s' "$secret" | skopeo login --tls-verify=false --username clients+ci --password-stdin "$REGISTRY"`,
      'skopeo --insecure-policy copy --dest-tls-verify=false --preserve-digests --retry-times 0 "oci:$LAYOUT:v1" "docker://$REGISTRY/clients/robot:v1"',
      'skopeo list-tags --tls-verify=false "docker://$REGISTRY/clients/robot"',
    ].join('\n'))
    const auth = authFile('robot')
    const { stdout } = await shell(script, {
      MERIDIAN_DATA_DIR: origin.dataDir, DATABASE_URL: origin.config.databaseUrl, MERIDIAN_AUTH: 'on', REGISTRY: new URL(origin.url).host, LAYOUT: source.path, REGISTRY_AUTH_FILE: auth,
    })
    expect((JSON.parse(stdout.slice(stdout.indexOf('{'))) as { Tags: string[] }).Tags).toEqual(['v1'])
    expect(loggedIn(auth, origin.url)).not.toBeNull()
    // The robot may push there only.
    const elsewhere = await skopeoFails(['copy', ...PUSH_FLAGS, `oci:${source.path}:v1`, dockerRef(origin.url, 'clients/not-for-robots', 'v1')], { authFile: auth })
    expect(elsewhere.stderr).toMatch(AUTH_ERROR)
  }, 60_000)
})

describe.skipIf(podmanMissing !== null)(`podman against an origin with access control${podmanMissing ? ` (skipped: ${podmanMissing})` : ''}`, NO_RETRY, () => {
  let podman: Podman
  beforeAll(() => {
    podman = createPodman()
  })
  afterAll(() => podman?.close())

  /** push → rmi → pull, checking the pulled image is the pushed manifest. */
  async function roundTrip(name: string, extra: string[]): Promise<string> {
    const ref = podmanRef(origin.url, name, 'v1')
    await podman.importImage(ref, `${run}/${name}`)
    const digestFile = `${dir('podman-digest')}.txt`
    await podman.run(['push', ...PODMAN_REGISTRY_FLAGS, ...extra, '--digestfile', digestFile, ref])
    const digest = readFileSync(digestFile, 'utf8').trim()
    await podman.run(['rmi', ref])
    await podman.run(['pull', '--quiet', ...PODMAN_REGISTRY_FLAGS, ...extra, ref])
    const { stdout } = await podman.run(['image', 'inspect', '--format', '{{.Digest}}', ref])
    expect(stdout.trim()).toBe(digest)
    return digest
  }

  it('pushes and pulls with --creds, lists tags, and skopeo deletes what it pushed', async () => {
    const name = 'clients/podman-creds'
    const devCreds = creds(dev.user, dev.secret)
    const digest = await roundTrip(name, ['--creds', devCreds])
    expect(await tagsOf(origin.url, name, ['--creds', devCreds])).toEqual(['v1'])
    await skopeo(['delete', ...REGISTRY_FLAGS, '--creds', devCreds, dockerRef(origin.url, name, digest)])
    expect(await tagsOf(origin.url, name, ['--creds', devCreds])).toEqual([])
  })

  it('logs in with the password on stdin, then pushes and pulls with the stored credentials', async () => {
    await podman.login(origin.url, dev.user, dev.secret)
    expect(loggedIn(podman.authFile, origin.url)).not.toBeNull()
    const name = 'clients/podman-login'
    await roundTrip(name, [])
    // podman 4.3's search has no --creds: listing tags is a logged-in podman's job.
    const { stdout } = await podman.run(['search', '--list-tags', ...PODMAN_REGISTRY_FLAGS, `${new URL(origin.url).host}/${name}`])
    expect(stdout).toMatch(/\bv1\b/)
    await podman.run(['logout', new URL(origin.url).host])
    expect(loggedIn(podman.authFile, origin.url)).toBeNull()
    // Root's default auth file never saw this login.
    if (existsSync(SYSTEM_AUTH_FILE)) expect(readFileSync(SYSTEM_AUTH_FILE, 'utf8')).not.toContain(new URL(origin.url).host)
  })

  it('pulls a public repository anonymously', async () => {
    await podman.run(['pull', '--quiet', ...PODMAN_REGISTRY_FLAGS, podmanRef(origin.url, 'clients/public', 'v1')])
  })

  it("fails a pull-only account's push with an auth error, leaving nothing behind", async () => {
    const ref = podmanRef(origin.url, 'clients/podman-refused', 'v1')
    await podman.importImage(ref, `${run}/refused`)
    const before = await snapshotState(origin.db, origin.locations)
    const failed = await podman.fails(['push', ...PODMAN_REGISTRY_FLAGS, '--creds', creds(reader.user, reader.secret), ref])
    expect(failed.stderr).toMatch(AUTH_ERROR)
    expect(await snapshotState(origin.db, origin.locations)).toEqual(before)
  })
})

describe('the same clients through a Node edge', NO_RETRY, () => {
  let edge: TestEdge
  let podman: Podman | null = null
  const name = 'clients/through-edge'
  let digest: string

  beforeAll(async () => {
    const source = await layout(name, { unpackable: true })
    digest = source.digest
    await skopeo(['copy', ...PUSH_FLAGS, '--dest-creds', creds(dev.user, dev.secret), `oci:${source.path}:v1`, dockerRef(origin.url, name, 'v1')])
    edge = await startTestEdge(origin)
    await edge.settle()
    if (podmanMissing === null) podman = createPodman()
  }, 60_000)
  afterAll(async () => {
    await podman?.close()
    await edge?.close()
  })

  it('skopeo pulls and lists tags with --creds and with login, and is refused without', async () => {
    const readerCreds = creds(reader.user, reader.secret)
    const pulled = dir('edge-pulled')
    await skopeo(['copy', ...PULL_FLAGS, '--src-creds', readerCreds, dockerRef(edge.url, name, 'v1'), `oci:${pulled}:v1`])
    expect(readRef(pulled, 'v1')?.digest).toBe(digest)
    expect(await tagsOf(edge.url, name, ['--creds', readerCreds])).toEqual(['v1'])
    const auth = authFile('edge')
    expect((await skopeoFails(['inspect', ...REGISTRY_FLAGS, dockerRef(edge.url, name, 'v1')], { authFile: auth })).stderr).toMatch(AUTH_ERROR)
    // Logging in at the edge sends the client to the origin's token endpoint (the realm).
    await skopeoLogin(edge.url, reader.user, reader.secret, auth)
    await skopeo(['copy', ...PULL_FLAGS, dockerRef(edge.url, name, 'v1'), `oci:${dir('edge-login')}:v1`], { authFile: auth })
  })

  it('skopeo pushes through the edge (its uploads sent on to the origin) and deletes through it', async () => {
    const pushed = 'clients/through-edge-pushed'
    const devCreds = creds(dev.user, dev.secret)
    const source = await layout(pushed)
    await skopeo(['copy', ...PUSH_FLAGS, '--dest-creds', devCreds, `oci:${source.path}:v1`, dockerRef(edge.url, pushed, 'v1')])
    await edge.settle()
    expect(await tagsOf(edge.url, pushed, ['--creds', devCreds])).toEqual(['v1'])
    // A reader may not push through the edge either.
    const other = await layout('clients/through-edge-refused')
    expect((await skopeoFails(['copy', ...PUSH_FLAGS, '--dest-creds', creds(reader.user, reader.secret), `oci:${other.path}:v1`, dockerRef(edge.url, 'clients/through-edge-refused', 'v1')])).stderr).toMatch(AUTH_ERROR)
    await skopeo(['delete', ...REGISTRY_FLAGS, '--creds', devCreds, dockerRef(edge.url, pushed, source.digest)])
    await edge.settle()
    const gone = await skopeoFails(['inspect', ...REGISTRY_FLAGS, '--creds', devCreds, dockerRef(edge.url, pushed, 'v1')])
    expect(gone.stderr).toMatch(/manifest unknown|not found/i)
  })

  it('skopeo pulls a public repository anonymously', async () => {
    await skopeo(['copy', ...PULL_FLAGS, dockerRef(edge.url, 'clients/public', 'v1'), `dir:${dir('edge-public')}`], { authFile: authFile('edge-anonymous') })
  })

  it.skipIf(podmanMissing !== null)('podman pulls with --creds and anonymously from a public repository', async () => {
    await podman!.run(['pull', '--quiet', ...PODMAN_REGISTRY_FLAGS, '--creds', creds(reader.user, reader.secret), podmanRef(edge.url, name, 'v1')])
    const { stdout } = await podman!.run(['image', 'inspect', '--format', '{{.Digest}}', podmanRef(edge.url, name, 'v1')])
    expect(stdout.trim()).toBe(digest)
    await podman!.run(['pull', '--quiet', ...PODMAN_REGISTRY_FLAGS, podmanRef(edge.url, 'clients/public', 'v1')])
    const refused = await podman!.fails(['pull', ...PODMAN_REGISTRY_FLAGS, podmanRef(edge.url, name, 'v1')])
    expect(refused.stderr).toMatch(AUTH_ERROR)
  })
})

/** Runs a POSIX shell script from the repository root; rejects with its output on failure. */
function shell(script: string, env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile('/bin/sh', [script], { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 50_000, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${script} failed (${(err as NodeJS.ErrnoException).code}):\n${stderr}\n${stdout}`))
      else resolvePromise({ stdout, stderr })
    })
  })
}
