// Runs the real podman binary against a registry on loopback, as root in a container that may have
// no systemd and no usable cgroups. Every Podman gets its own temp directory holding its image
// store (vfs: no overlay mounts, no fuse), run and tmp dirs, network config, containers.conf,
// storage.conf, registries.conf and auth file, so tests never share state with each other, with
// the machine's /var/lib/containers or with a user's ~/.config. Only pushing and pulling is
// needed: no container ever runs.
//
// One thing is not isolated: containers/image keeps its blob info cache (which blob it saw in
// which repository) in /var/lib/containers/cache for root, with no flag to move it. Tests use
// fresh bytes per run (`importImage`'s seed) so an old run's repositories never take part.

import { execFileSync } from 'node:child_process'
import { createHash, randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CommandError, commandFails, runCommand, type CommandResult } from './client-command.ts'

export const PODMAN = process.env.PODMAN ?? 'podman'

/**
 * Why podman cannot run here ("podman not found …"), or null when it can. Tests skip with this
 * message instead of failing on a machine without podman (CI installs it: .ci/run).
 */
export const podmanMissing: string | null = (() => {
  try {
    execFileSync(PODMAN, ['--version'], { stdio: 'pipe', timeout: 10_000 })
    return null
  } catch (err) {
    return `podman not runnable as ${PODMAN} (${(err as Error).message.split('\n')[0]}): install it (apt-get install podman) or set PODMAN`
  }
})()

export { CommandError as PodmanError, type CommandResult as PodmanResult } from './client-command.ts'

export interface PodmanRunOptions {
  timeoutMs?: number
  /** Written to podman's stdin (`login --password-stdin`), which is then closed. */
  stdin?: string
}

export interface Podman {
  /** The temp directory holding everything this podman writes. */
  dir: string
  /** Its REGISTRY_AUTH_FILE: what `podman login` writes and every pull and push reads. */
  authFile: string
  /** `podman <isolating global flags> <args>`. */
  run(args: string[], options?: PodmanRunOptions): Promise<CommandResult>
  /** Runs podman expecting it to fail; resolves with the failure (rejects if it succeeded). */
  fails(args: string[], options?: PodmanRunOptions): Promise<CommandError>
  /**
   * `podman import` of a one-file rootfs whose content depends on `seed`, tagged `reference`
   * (e.g. `127.0.0.1:1234/team/app:v1`). Resolves with the local image id.
   */
  importImage(reference: string, seed?: string): Promise<string>
  /** `podman login --password-stdin` into this podman's auth file. */
  login(registryUrl: string, user: string, secret: string): Promise<CommandResult>
  /** Removes the temp directory (the image store included). */
  close(): Promise<void>
}

/** Flags for push, pull, login and search against a plain-HTTP registry on loopback. */
export const PODMAN_REGISTRY_FLAGS = ['--tls-verify=false']

/** `host:port/name:tag` (or `@digest`) for a registry URL like `http://127.0.0.1:1234`. */
export function podmanRef(registryUrl: string, name: string, reference: string): string {
  return `${new URL(registryUrl).host}/${name}${reference.includes(':') ? '@' : ':'}${reference}`
}

export function createPodman(): Podman {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-podman-'))
  const path = (name: string) => join(dir, name)
  for (const sub of ['root', 'runroot', 'tmp', 'networks', 'config', 'runtime']) mkdirSync(path(sub), { mode: 0o700 })
  // containers.conf: no systemd here, so cgroupfs and a file events log (journald is absent).
  writeFileSync(path('containers.conf'), '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
  // storage.conf replaces /etc/containers/storage.conf, whose overlay options could not work here.
  writeFileSync(path('storage.conf'), `[storage]\ndriver = "vfs"\ngraphroot = "${path('root')}"\nrunroot = "${path('runroot')}"\n`)
  // No search registries: every reference names its registry, nothing is resolved elsewhere.
  writeFileSync(path('registries.conf'), 'unqualified-search-registries = []\n')
  const authFile = path('auth.json')
  writeFileSync(authFile, '{}\n', { mode: 0o600 })
  const env = {
    ...process.env,
    CONTAINERS_CONF: path('containers.conf'),
    CONTAINERS_STORAGE_CONF: path('storage.conf'),
    CONTAINERS_REGISTRIES_CONF: path('registries.conf'),
    REGISTRY_AUTH_FILE: authFile,
    XDG_CONFIG_HOME: path('config'),
    XDG_RUNTIME_DIR: path('runtime'),
  }
  const globals = [
    '--root', path('root'), '--runroot', path('runroot'), '--tmpdir', path('tmp'),
    '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file',
    '--network-config-dir', path('networks'),
  ]

  function run(args: string[], options: PodmanRunOptions = {}): Promise<CommandResult> {
    const { timeoutMs = 60_000, stdin } = options
    const argv = [...globals, ...args]
    // A failure names only what the test asked for, not the temp paths of every flag.
    return runCommand(PODMAN, 'podman', argv, args, { timeoutMs, stdin, env })
  }

  return {
    dir, authFile, run,
    fails: (args, options) => commandFails('podman', args, () => run(args, options)),
    async importImage(reference, seed = randomUUID()) {
      const tar = path(`rootfs-${createHash('sha256').update(seed).digest('hex').slice(0, 12)}.tar`)
      writeFileSync(tar, tarOf('etc/meridian-test', `meridian test image ${seed}\n`))
      const { stdout } = await run(['import', '--quiet', tar, reference])
      return stdout.trim()
    },
    login(registryUrl, user, secret) {
      return run(['login', ...PODMAN_REGISTRY_FLAGS, '--username', user, '--password-stdin', new URL(registryUrl).host], { stdin: secret })
    },
    async close() {
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The auth file's entry for a registry (what `login` stored), or null. */
export function loggedIn(authFile: string, registryUrl: string): { auth: string } | null {
  const file = JSON.parse(readFileSync(authFile, 'utf8')) as { auths?: Record<string, { auth: string }> }
  return file.auths?.[new URL(registryUrl).host] ?? null
}

/**
 * A ustar archive holding one regular file (POSIX pax/ustar header, 512-byte blocks, two zero
 * blocks at the end): the smallest rootfs `podman import` takes, made without any network.
 */
export function tarOf(name: string, content: string): Buffer {
  const body = Buffer.from(content)
  const header = Buffer.alloc(512)
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'ascii')
  const octal = (offset: number, length: number, value: number) => field(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`)
  field(0, 100, name)
  octal(100, 8, 0o644)
  octal(108, 8, 0)
  octal(116, 8, 0)
  octal(124, 12, body.byteLength)
  octal(136, 12, 1_700_000_000)
  field(148, 8, '        ') // the checksum is computed with its own field as spaces
  field(156, 1, '0')
  field(257, 8, 'ustar\x0000')
  let sum = 0
  for (const byte of header) sum += byte
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `)
  const padding = Buffer.alloc((512 - (body.byteLength % 512)) % 512)
  return Buffer.concat([header, body, padding, Buffer.alloc(1024)])
}

/**
 * An OCI layout (as test/helpers/oci-layout.ts writes them) holding one image tagged `tag` whose
 * single layer is a real tar (`tarOf`): skopeo can push it anywhere, and podman can unpack it
 * after a pull, which it cannot do with oci-layout.ts's random-byte layers.
 */
export function writeRootfsLayout(dir: string, tag: string, seed: string): { manifest: string; layer: string } {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true })
  const blob = (bytes: Buffer, mediaType: string) => {
    const hex = createHash('sha256').update(bytes).digest('hex')
    writeFileSync(join(dir, 'blobs', 'sha256', hex), bytes)
    return { mediaType, digest: `sha256:${hex}`, size: bytes.byteLength }
  }
  const layer = blob(tarOf('etc/meridian-test', `meridian test image ${seed}\n`), 'application/vnd.oci.image.layer.v1.tar')
  const config = blob(Buffer.from(JSON.stringify({
    created: '2024-01-01T00:00:00Z', architecture: 'amd64', os: 'linux',
    config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: [layer.digest] },
  })), 'application/vnd.oci.image.config.v1+json')
  const manifest = blob(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer] })), 'application/vnd.oci.image.manifest.v1+json')
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }))
  return { manifest: manifest.digest, layer: layer.digest }
}
