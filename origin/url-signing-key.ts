// The deployment's URL signing key (storage/signed-url.ts): what lets an edge make URLs that the
// origin owning a disk will serve. One key per deployment, the same in every origin and edge.
//
// Configured (`MERIDIAN_URL_SIGNING_KEY`, `origin.urlSigningKey`) it is used as given. Otherwise it
// is kept in `<dataDir>/url-signing.key`, made on first need from 32 random bytes, readable by its
// owner only (0600): `npm start` and single-machine deployments need no setting, and an edge on
// the same machine reads the same file. Machines that share no data directory set the variable.
// The key is never logged; only the file's path is.

import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { MIN_SIGNING_KEY_LENGTH } from '../storage/signed-url.ts'
import type { MeridianConfig } from './config/types.ts'

export const URL_SIGNING_KEY_FILE = 'url-signing.key'

const errno = (err: unknown) => (err as { code?: string } | null)?.code

/** The key kept in `<dataDir>/url-signing.key`, made there first if it is missing. */
export async function loadOrCreateUrlSigningKey(dataDir: string): Promise<string> {
  const path = join(dataDir, URL_SIGNING_KEY_FILE)
  const existing = await readKey(path)
  if (existing !== null) return existing
  await mkdir(dataDir, { recursive: true })
  const key = randomKey()
  // Written whole under a private name, then linked into place: a process starting beside this
  // one (an edge, a second origin) never reads a half-written key, and the first link wins.
  const tmp = `${path}.${crypto.randomUUID()}.tmp`
  await writeFile(tmp, `${key}\n`, { mode: 0o600, flush: true })
  try {
    await link(tmp, path)
  } catch (err) {
    if (errno(err) !== 'EEXIST') throw err
  } finally {
    await unlink(tmp).catch(() => {})
  }
  const kept = await readKey(path)
  if (kept === null) throw new Error(`${path} vanished while it was made`)
  return kept
}

/**
 * The key this origin signs and verifies with: the configured one, else the data directory's
 * (made if missing) when a location names a publicUrl, else null (no location redirects to disk).
 */
export async function resolveUrlSigningKey(config: MeridianConfig): Promise<string | null> {
  if (config.origin.urlSigningKey !== null) return config.origin.urlSigningKey
  const needed = config.locations.some((l) => l.driver === 'fs' && typeof l.params.publicUrl === 'string')
  return needed ? loadOrCreateUrlSigningKey(config.dataDir) : null
}

async function readKey(path: string): Promise<string | null> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (errno(err) === 'ENOENT') return null
    throw err
  }
  const key = text.trim()
  if (key.length < MIN_SIGNING_KEY_LENGTH) throw new Error(`${path}: a URL signing key needs at least ${MIN_SIGNING_KEY_LENGTH} characters; remove the file to have a new one made`)
  return key
}

/** 32 random bytes as base64url: 43 characters, 256 bits. */
function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}
