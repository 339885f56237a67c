// A tiny distribution-spec client for the API tests: global fetch against a real origin, and the
// few assertions every test file shares. It states requests plainly so tests read like the spec.

import { createHash, randomBytes as nodeRandomBytes } from 'node:crypto'
import { expect } from 'vitest'
import type { Descriptor } from '../../oci/manifest.ts'
import {
  DOCKER_IMAGE_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_EMPTY_CONFIG, OCI_IMAGE_CONFIG, OCI_INDEX, OCI_MANIFEST,
} from '../../oci/media-types.ts'

// The registry's own media types and Descriptor, under the short names the tests use.
export { DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, type Descriptor }
export { DOCKER_MANIFEST_LIST as DOCKER_LIST, OCI_EMPTY_CONFIG as OCI_EMPTY }
/** Layer types: the registry never inspects them, so only the tests name them. */
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip'
export const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip'

/** Bytes a fetch body accepts (an ArrayBuffer-backed view). */
export type Bytes = Uint8Array<ArrayBuffer>

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

export function sha512(bytes: Uint8Array | string): string {
  return `sha512:${createHash('sha512').update(bytes).digest('hex')}`
}

export function randomBytes(size: number): Bytes {
  return new Uint8Array(nodeRandomBytes(size))
}

export function utf8(text: string): Bytes {
  return new TextEncoder().encode(text)
}

/** A unique, valid repository name per call, so tests sharing one origin never collide. */
let counter = 0
export function uniqueName(prefix = 'test'): string {
  return `${prefix}/r${process.pid}-${++counter}`
}

/** An absolute URL for a path or for a Location header (which may be relative). */
export function at(base: string, pathOrLocation: string): string {
  return new URL(pathOrLocation, base).toString()
}

/** The body a test reads back, as bytes. */
export async function bytesOf(res: Response): Promise<Bytes> {
  return new Uint8Array(await res.arrayBuffer())
}

/** Monolithic upload (distribution-spec end-4b: POST ?digest=). Returns the descriptor. */
export async function pushBlob(url: string, name: string, bytes: Bytes, mediaType = OCI_LAYER): Promise<Descriptor> {
  const digest = sha256(bytes)
  const res = await fetch(at(url, `/v2/${name}/blobs/uploads/?digest=${digest}`), {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: bytes,
  })
  expect(res.status, await explain(res)).toBe(201)
  return { mediaType, digest, size: bytes.byteLength }
}

/** Opens an upload session (end-4a) and returns its absolute upload URL. */
export async function openUpload(url: string, name: string): Promise<string> {
  const res = await fetch(at(url, `/v2/${name}/blobs/uploads/`), { method: 'POST' })
  expect(res.status, await explain(res)).toBe(202)
  return at(url, res.headers.get('location')!)
}

/** One PATCH with an explicit Content-Range (end-5). */
export function patchChunk(uploadUrl: string, chunk: Bytes, start: number): Promise<Response> {
  return fetch(uploadUrl, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${start}-${start + chunk.byteLength - 1}` },
    body: chunk,
  })
}

/** Closes a session (end-6), optionally with a last chunk. */
export function closeUpload(uploadUrl: string, digest: string, last?: Bytes): Promise<Response> {
  const target = new URL(uploadUrl)
  target.searchParams.set('digest', digest)
  return fetch(target, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: last })
}

/** The session's progress as the spec reports it (end-13): GET → 204 + Range. */
export async function rangeOf(uploadUrl: string): Promise<string | null> {
  const res = await fetch(uploadUrl)
  expect(res.status).toBe(204)
  return res.headers.get('range')
}

/** A body the client streams with chunked transfer encoding (no Content-Length). */
export function streamOf(...chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    pull(controller) {
      const next = chunks.shift()
      if (next) controller.enqueue(next)
      else controller.close()
    },
  })
}

/** A config blob and `layers` layer blobs pushed to `name`, as descriptors. */
export async function pushImageBlobs(url: string, name: string, options: { layers?: number; docker?: boolean } = {}) {
  const { layers = 1, docker = false } = options
  const config = await pushBlob(url, name, utf8(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: Math.random() })), docker ? DOCKER_IMAGE_CONFIG : OCI_IMAGE_CONFIG)
  const layerDescriptors: Descriptor[] = []
  for (let i = 0; i < layers; i++) layerDescriptors.push(await pushBlob(url, name, randomBytes(64 + i), docker ? DOCKER_LAYER : OCI_LAYER))
  return { config, layers: layerDescriptors }
}

export function imageManifest(config: Descriptor, layers: Descriptor[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers, ...extra }
}

export function indexManifest(manifests: Descriptor[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemaVersion: 2, mediaType: OCI_INDEX, manifests, ...extra }
}

export function manifestBytes(manifest: Record<string, unknown> | Bytes): Bytes {
  return manifest instanceof Uint8Array ? manifest : utf8(JSON.stringify(manifest))
}

/** PUT a manifest (end-7); no status assertion, for tests about refusals. */
export function putManifest(url: string, name: string, reference: string, manifest: Record<string, unknown> | Bytes, contentType?: string): Promise<Response> {
  const body = manifestBytes(manifest)
  const type = contentType ?? (manifest instanceof Uint8Array ? OCI_MANIFEST : (manifest.mediaType as string | undefined) ?? OCI_MANIFEST)
  return fetch(at(url, `/v2/${name}/manifests/${reference}`), { method: 'PUT', headers: { 'Content-Type': type }, body })
}

/** PUT a manifest and expect 201; returns its descriptor (digest of the exact bytes sent). */
export async function pushManifest(url: string, name: string, reference: string, manifest: Record<string, unknown> | Bytes, contentType?: string): Promise<Descriptor & { response: Response }> {
  const body = manifestBytes(manifest)
  const res = await putManifest(url, name, reference, body, contentType ?? (manifest instanceof Uint8Array ? undefined : (manifest.mediaType as string | undefined)))
  expect(res.status, await explain(res)).toBe(201)
  const mediaType = contentType ?? (manifest instanceof Uint8Array ? OCI_MANIFEST : (manifest.mediaType as string | undefined) ?? OCI_MANIFEST)
  return { mediaType, digest: sha256(body), size: body.byteLength, response: res }
}

/** A whole image (config, layers, manifest) under `tag`; returns the manifest's descriptor. */
export async function pushImage(url: string, name: string, tag: string, extra: Record<string, unknown> = {}): Promise<Descriptor> {
  const { config, layers } = await pushImageBlobs(url, name)
  const { response: _, ...descriptor } = await pushManifest(url, name, tag, imageManifest(config, layers, extra))
  return descriptor
}

export interface OciErrorBody {
  errors: { code: string; message: string; detail: unknown }[]
}

/**
 * Asserts a distribution-spec error response: the status, a JSON body
 * `{"errors":[{"code","message","detail"}]}` with exactly those keys, and the code. (HEAD
 * responses carry no body: assert their status alone.)
 */
export async function expectOciError(res: Response, code: string, status: number): Promise<OciErrorBody> {
  const text = await res.text()
  expect(res.status, text).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  const body = JSON.parse(text) as OciErrorBody
  expect(body.errors).toHaveLength(1)
  expect(Object.keys(body.errors[0]!).sort()).toEqual(['code', 'detail', 'message'])
  expect(typeof body.errors[0]!.message).toBe('string')
  expect(body.errors[0]!.code).toBe(code)
  return body
}

/** The target of a `Link: <...>; rel="next"` header (catalog and tags lists), or null when there is none. */
export function nextPage(res: Response): string | null {
  const link = res.headers.get('link')
  if (!link) return null
  const match = /^<([^>]+)>;\s*rel="next"$/.exec(link)
  expect(match, `Link header ${link}`).not.toBeNull()
  return match![1]!
}

/** A short text for assertion messages: status and (for errors) the body, without consuming res. */
async function explain(res: Response): Promise<string> {
  if (res.ok) return `${res.status}`
  return `${res.status} ${await res.clone().text()}`
}
