// A deterministic corpus of hostile requests (issue #7, "hostile input corpus"): the same seed
// always gives the same requests, so a failure found once is found again. Two kinds: requests
// fetch can send (malformed manifests, deep nesting, huge numbers, bad digests, names, ranges,
// Content-Ranges, content types, oversized bodies, invalid UTF-8) and raw bytes for what only a
// socket can send (malformed HTTP, literal `..` segments).

import { MAX_MANIFEST_BYTES } from '../../oci/manifest.ts'
import { seededRandom } from '../helpers/seeded-random.ts'

export interface HostileRequest {
  kind: string
  method: string
  path: string
  headers: Record<string, string>
  body?: Uint8Array<ArrayBuffer>
}

/** What exists on the origin before the corpus runs, so requests reach past the "unknown" checks. */
export interface CorpusTargets {
  repo: string
  /** A blob of the repository (for ranges, mounts). */
  blob: string
  /** Paths of open upload sessions (for PATCH / PUT / GET / DELETE on them). */
  sessions: string[]
}

const enc = (text: string) => new TextEncoder().encode(text)
const HEX = 'a'.repeat(64)
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'

const BAD_DIGESTS = [
  'sha256:zz', `sha256:${HEX.slice(1)}`, `sha256:${HEX}0`, `SHA256:${HEX}`, `sha256:${HEX.toUpperCase()}`, `md5:${'a'.repeat(32)}`,
  `sha512:${HEX}`, 'sha256:', ':', 'sha256%3A' + HEX, `sha256:${HEX}%00`, '..%2f..%2fetc%2fpasswd', 'latest:', '%ff%fe',
]
const BAD_NAMES = [
  'UPPER/case', 'a..b', '-lead', 'trail-', 'a//b', '_x', 'a/-/b', 'x'.repeat(300), '%c3%bc/x', '%00', 'a/%2f/b', '%2e', 'a%2fb',
  '..%2f..%2fetc', 'a/..%2fb', 'name%20space', '%ff', 'a:b', 'a@b', 'a/b/' + 'c/'.repeat(100),
]
const BAD_TAGS = ['.hidden', '-x', 'x'.repeat(200), '%00', 'a%2fb', 'tag:colon', '%ff', 'ü']
const RANGES = [
  'bytes=abc', 'bytes=10-5', 'bytes=-0', 'bytes=0-99999999999999999999', 'bytes=0-1,2-3', 'items=0-1', 'bytes=', 'bytes=-',
  'bytes=5000-', 'bytes=99999999999999999999-', 'bytes=--1', 'bytes=0x10-0x20', 'bytes = 0-1', 'bytes=1e3-2e3',
]
const CONTENT_RANGES = ['abc', '0-', '-5', '5-1', '0-99999999999999999999', 'bytes 0-1/2', '1-2', '0--1', '0-0', ' 0-3', '4294967296-4294967300', '0-1e3']
const CONTENT_TYPES = [
  'text/plain', 'application/vnd.docker.distribution.manifest.v1+prettyjws', '', 'application/vnd.oci.image.index.v1+json',
  `${OCI_MANIFEST}; charset=utf-8`, 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '*/*', ';;;', 'a/b/c',
]
const NUMBERS = ['1e400', '-1', '99999999999999999999', '1.5', '"12"', 'null', '-0', '1e-400', '0x10', 'NaN', 'Infinity', '9007199254740993']

/** A plausible manifest with some part broken, as text. */
function brokenManifest(pick: <T>(items: readonly T[]) => T, rnd: () => number): string {
  const size = pick(NUMBERS)
  const digest = JSON.stringify(pick(BAD_DIGESTS))
  const variants = [
    `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":{"mediaType":"x","digest":"sha256:${HEX}","size":${size}},"layers":[]}`,
    `{"schemaVersion":${size},"config":{}}`,
    `{"schemaVersion":2,"config":{"mediaType":"x","digest":${digest},"size":1},"layers":[]}`,
    `{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:${HEX}","size":1},"layers":{"0":1}}`,
    `{"schemaVersion":2,"manifests":[{"mediaType":"${OCI_MANIFEST}","digest":${digest},"size":${size}}]}`,
    `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":{"mediaType":"x","digest":"sha256:${HEX}","size":1},"layers":[],"annotations":{"a":${size}}}`,
    `{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}`,
    `{"schemaVersion":2,"subject":{"mediaType":"x","digest":${digest},"size":1},"config":{"mediaType":"x","digest":"sha256:${HEX}","size":1}}`,
    '{', '', 'null', '[]', '"manifest"', '{"schemaVersion":2', '{"a":1,}', '{"__proto__":{"x":1},"schemaVersion":2}',
  ]
  const text = pick(variants)
  // Sometimes cut short at a random byte.
  return rnd() < 0.2 ? text.slice(0, Math.floor(rnd() * text.length)) : text
}

/** `count` fetchable requests, the same for the same seed. */
export function hostileRequests(seed: number, count: number, t: CorpusTargets): HostileRequest[] {
  const rnd = seededRandom(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!
  const int = (max: number) => Math.floor(rnd() * max)
  const put = (kind: string, body: Uint8Array<ArrayBuffer>, contentType = OCI_MANIFEST, ref = `t${int(50)}`): HostileRequest =>
    ({ kind, method: 'PUT', path: `/v2/${t.repo}/manifests/${ref}`, headers: { 'Content-Type': contentType }, body })
  const generators: Array<[weight: number, make: () => HostileRequest]> = [
    [12, () => put('malformed-manifest', enc(brokenManifest(pick, rnd)), pick([OCI_MANIFEST, ...CONTENT_TYPES]))],
    [8, () => {
      const depth = 65 + int(3_000)
      const open = pick(['[', '{"a":'])
      return put('deep-nesting', enc(open.repeat(depth) + '1' + (open === '[' ? ']' : '}').repeat(depth)))
    }],
    // 4 MiB of nesting, the shape that cost 0.6 s and 220 MB before the byte scan.
    [0.15, () => put('deep-nesting-4mib', enc('['.repeat(MAX_MANIFEST_BYTES / 2) + ']'.repeat(MAX_MANIFEST_BYTES / 2)))],
    [1, () => put('many-values', enc(`{"schemaVersion":2,"layers":[${'[],'.repeat(100_000 + int(50_000))}[]]}`))],
    [4, () => put('huge-numbers', enc(`{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":{"mediaType":"x","digest":"sha256:${HEX}","size":${pick(NUMBERS)}${'9'.repeat(int(400))}}}`))],
    [4, () => {
      const bytes = enc(`{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","annotations":{"k":"xx"}}`)
      const at = bytes.indexOf(0x78)
      bytes[at] = pick([0xff, 0xc3, 0xed, 0xf8, 0x80])
      return put('invalid-utf8', bytes)
    }],
    [0.1, () => put('oversized-manifest', new Uint8Array(MAX_MANIFEST_BYTES + 1 + int(1000)).fill(0x20))],
    [6, () => put('wrong-content-type', enc(`{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":{"mediaType":"x","digest":"sha256:${HEX}","size":1},"layers":[]}`), pick(CONTENT_TYPES))],
    [5, () => put('bad-manifest-reference', enc('{"schemaVersion":2}'), OCI_MANIFEST, pick([...BAD_DIGESTS, ...BAD_TAGS, `sha256:${HEX}`]))],
    [8, () => ({ kind: 'bad-digest', method: pick(['GET', 'HEAD', 'DELETE']), path: `/v2/${t.repo}/${pick(['blobs', 'manifests'])}/${pick(BAD_DIGESTS)}`, headers: {} })],
    [8, () => ({
      kind: 'bad-name', method: pick(['GET', 'HEAD', 'POST', 'PUT', 'DELETE']),
      path: `/v2/${pick(BAD_NAMES)}/${pick(['tags/list', 'manifests/latest', 'blobs/uploads/', `blobs/sha256:${HEX}`, 'referrers/sha256:' + HEX])}`, headers: {},
    })],
    [5, () => ({ kind: 'traversal', method: 'GET', path: pick(['/v2/..%2f..%2fetc%2fpasswd', `/v2/${t.repo}/blobs/..%2f..%2f..%2fetc%2fpasswd`, '/v2/%2e%2e%2f/tags/list', `/v2/${t.repo}/manifests/..%2f..%2fx`, '/admin/..%2fv2/', `/v2/${t.repo}/blobs/uploads/..%2f..%2f`]), headers: {} })],
    [10, () => ({ kind: 'bad-range', method: pick(['GET', 'HEAD']), path: `/v2/${t.repo}/blobs/${t.blob}`, headers: { Range: pick(RANGES) } })],
    [10, () => ({
      kind: 'bad-content-range', method: 'PATCH', path: pick(t.sessions),
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': pick(CONTENT_RANGES) }, body: new Uint8Array(1 + int(64)).fill(1),
    })],
    [6, () => ({
      kind: 'unknown-session', method: pick(['GET', 'PATCH', 'PUT', 'DELETE']),
      path: `/v2/${t.repo}/blobs/uploads/${pick(['00000000-0000-0000-0000-000000000000', 'not-a-uuid', '%00', '..%2f..', 'x'.repeat(500)])}${pick(['', `?digest=sha256:${HEX}`, '?digest=bad'])}`, headers: {},
    })],
    [6, () => ({
      kind: 'bad-upload-params', method: pick(['POST', 'PUT']),
      path: `${pick([`/v2/${t.repo}/blobs/uploads/`, pick(t.sessions)])}?${pick([`digest=${pick(BAD_DIGESTS)}`, `mount=${pick(BAD_DIGESTS)}&from=${pick(BAD_NAMES)}`, `mount=${t.blob}&from=${pick(BAD_NAMES)}`, 'digest=', 'digest=sha256:' + HEX])}`,
      headers: { 'Content-Type': 'application/octet-stream' }, body: new Uint8Array(int(100)).fill(2),
    })],
    [5, () => ({ kind: 'bad-pagination', method: 'GET', path: `${pick(['/v2/_catalog', `/v2/${t.repo}/tags/list`])}?n=${pick(['-1', 'abc', '99999999999999999999', '1e3', '', '0', '%00'])}&last=${pick(['', '%ff', 'x'.repeat(300), '..'])}`, headers: {} })],
    [3, () => ({ kind: 'bad-referrers', method: 'GET', path: `/v2/${t.repo}/referrers/${pick([...BAD_DIGESTS, `sha256:${HEX}`])}?artifactType=${pick(['%00', '%ff', 'a'.repeat(500), ''])}`, headers: {} })],
    [3, () => ({ kind: 'odd-method', method: pick(['PROPFIND', 'PURGE', 'OPTIONS', 'FOO', 'PATCH', 'DELETE', 'PUT']), path: pick(['/v2/', '/v2/_catalog', `/v2/${t.repo}/tags/list`, '/metrics', '/']), headers: {} })],
    [3, () => ({ kind: 'odd-headers', method: 'GET', path: `/v2/${t.repo}/tags/list`, headers: { 'X-Request-Id': 'r'.repeat(int(4000)), Authorization: pick(['Bearer', 'Basic %%%', 'x'.repeat(2000)]), Accept: pick(['*/*;q=abc', ';;', '']) } })],
  ]
  const total = generators.reduce((sum, [weight]) => sum + weight, 0)
  const out: HostileRequest[] = []
  for (let i = 0; i < count; i++) {
    let roll = rnd() * total
    const generator = generators.find(([weight]) => (roll -= weight) < 0) ?? generators[0]!
    out.push(generator[1]())
  }
  return out
}

/** `count` raw requests: each is written on its own connection, then the connection is half-closed. */
export function rawHostileRequests(seed: number, count: number, repo: string): Array<{ kind: string; bytes: string }> {
  const rnd = seededRandom(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!
  const head = (line: string, extra = '') => `${line}\r\nHost: x\r\n${extra}\r\n`
  const makers: Array<() => { kind: string; bytes: string }> = [
    () => ({ kind: 'raw-bad-target', bytes: head(`GET /v2/${pick(['\x01', '\x7f', ' x', '\t', '"<>'])}/tags/list HTTP/1.1`) }),
    () => ({ kind: 'raw-traversal', bytes: head(`GET ${pick(['/v2/../../etc/passwd', `/v2/${repo}/../../../etc/passwd`, '/v2/%2e%2e/%2e%2e/etc/passwd', `/v2/${repo}/blobs/../../../../etc/passwd`, '/../admin/replication/backlog', '/v2/./././_catalog'])} HTTP/1.1`, 'Connection: close\r\n') }),
    () => ({ kind: 'raw-oversized-headers', bytes: head('GET /v2/ HTTP/1.1', `X-Big: ${'a'.repeat(17_000 + Math.floor(rnd() * 10_000))}\r\n`) }),
    () => ({ kind: 'raw-bad-chunked', bytes: head(`PUT /v2/${repo}/manifests/x HTTP/1.1`, 'Transfer-Encoding: chunked\r\n') + pick(['zz\r\nhello\r\n0\r\n\r\n', '5\r\nhelloXX0\r\n\r\n', 'ffffffffffffffffff\r\n', '-1\r\n\r\n', '5;' + 'e'.repeat(20_000) + '\r\nhello\r\n0\r\n\r\n']) }),
    () => ({ kind: 'raw-bad-length', bytes: head(`PUT /v2/${repo}/manifests/x HTTP/1.1`, pick(['Content-Length: -1\r\n', 'Content-Length: abc\r\n', 'Content-Length: 1\r\nContent-Length: 2\r\n', 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', 'Content-Length: 99999999999999999999999\r\n'])) + '{}' }),
    () => ({ kind: 'raw-bad-header', bytes: head('GET /v2/ HTTP/1.1', pick(['NoColon\r\n', 'Bad Name: x\r\n', 'X: \x00\r\n', ' folded: x\r\n', 'X:\x7f\r\n'])) }),
    () => ({ kind: 'raw-bad-line', bytes: pick(['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'get /v2/ HTTP/1.1\r\n\r\n', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 'GET\r\n\r\n', ' \r\n\r\n', 'GET /v2/ HTTP/1.1\n\n']) }),
    () => ({ kind: 'raw-absolute-form', bytes: head(`GET http://example.invalid/v2/${repo}/tags/list HTTP/1.1`, 'Connection: close\r\n') }),
  ]
  return Array.from({ length: count }, () => pick(makers)())
}
