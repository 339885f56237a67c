// A tiny MaxMind DB writer, for tests only: it places chosen (loopback, documentation) addresses at
// chosen coordinates so geo tests run offline and exactly. The reader under test stays the real
// mmdb-lib. Format: MaxMind DB File Format Specification 2.0 (https://maxmind.github.io/MaxMind-DB/):
// a binary search tree over the 128 address bits (24-bit records), 16 zero bytes, a data section,
// then "\xAB\xCD\xEFMaxMind.com" and a metadata map.

import ipaddr from 'ipaddr.js'

export interface TestMmdbEntry {
  /** `127.0.0.2/32`, `2001:db8::/32`, or a bare address. */
  cidr: string
  /** Omit lat and lon to write a country-only record (`{ country_code }`, the @ip-location-db shape). */
  lat?: number
  lon?: number
  /** ISO 3166-1 alpha-2. */
  country?: string
}

/** Values the encoder knows: strings, doubles (JS numbers), unsigned ints (tagged), maps, arrays. */
type Value = string | number | { uint: number; bytes?: number } | { uint64: bigint } | Value[] | { [key: string]: Value }

export function writeTestMmdb(entries: readonly TestMmdbEntry[]): Uint8Array {
  const data: number[] = []
  const root = newNode()
  for (const entry of entries) {
    const offset = data.length
    data.push(...encode(recordOf(entry)))
    const [bits, prefix] = toBits(entry.cidr)
    insert(root, bits, prefix, offset)
    // IPv4 lives at ::a.b.c.d (as MaxMind's own databases store it); alias ::ffff:a.b.c.d too.
    if (prefix >= 96 && bits.slice(0, 96).every((b) => b === 0)) {
      insert(root, [...Array(80).fill(0), ...Array(16).fill(1), ...bits.slice(96)], prefix, offset)
    }
  }
  const nodes = numberNodes(root)
  const recordValue = (child: Child): number =>
    child === null ? nodes.length : 'data' in child ? nodes.length + 16 + child.data : nodes.indexOf(child)
  const tree: number[] = []
  for (const node of nodes) {
    for (const child of node.children) {
      const v = recordValue(child)
      tree.push((v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff)
    }
  }
  const metadata = encode({
    node_count: { uint: nodes.length, bytes: 4 },
    record_size: { uint: 24, bytes: 2 },
    ip_version: { uint: 6, bytes: 2 },
    database_type: 'Meridian-Test-City',
    languages: ['en'],
    binary_format_major_version: { uint: 2, bytes: 2 },
    binary_format_minor_version: { uint: 0, bytes: 2 },
    build_epoch: { uint64: 1_700_000_000n },
    description: { en: 'Meridian test IP database' },
  })
  const marker = [0xab, 0xcd, 0xef, ...new TextEncoder().encode('MaxMind.com')]
  return Uint8Array.from([...tree, ...new Array(16).fill(0), ...data, ...marker, ...metadata])
}

function recordOf(entry: TestMmdbEntry): Value {
  if (entry.lat === undefined || entry.lon === undefined) return { country_code: entry.country ?? 'ZZ' }
  const record: { [key: string]: Value } = { location: { latitude: entry.lat, longitude: entry.lon } }
  if (entry.country) record.country = { iso_code: entry.country }
  return record
}

// --- the search tree ---

interface TreeNode {
  children: [Child, Child]
}
type Child = TreeNode | { data: number } | null

function newNode(): TreeNode {
  return { children: [null, null] }
}

/** 128 bits, IPv4 as ::a.b.c.d, and the prefix length in that space. */
function toBits(cidr: string): [number[], number] {
  const [address, length] = cidr.includes('/') ? ipaddr.parseCIDR(cidr) : [ipaddr.parse(cidr), undefined]
  const bytes = address.toByteArray()
  const full = bytes.length === 4 ? [...new Array(12).fill(0), ...bytes] : bytes
  const bits = full.flatMap((byte) => [7, 6, 5, 4, 3, 2, 1, 0].map((shift) => (byte >> shift) & 1))
  const prefix = (length ?? bytes.length * 8) + (bytes.length === 4 ? 96 : 0)
  return [bits, prefix]
}

function insert(root: TreeNode, bits: number[], prefix: number, data: number): void {
  let node = root
  for (let depth = 0; depth < prefix - 1; depth++) {
    const bit = bits[depth]!
    let child = node.children[bit]!
    if (child === null || 'data' in child) {
      // A wider range already ends here: split it so both halves keep its data.
      const split = newNode()
      split.children = [child, child]
      node.children[bit] = split
      child = split
    }
    node = child
  }
  node.children[bits[prefix - 1]!] = { data }
}

/** Breadth-first, so the root is node 0 as readers expect. */
function numberNodes(root: TreeNode): TreeNode[] {
  const nodes = [root]
  for (let i = 0; i < nodes.length; i++) {
    for (const child of nodes[i]!.children) if (child && 'children' in child) nodes.push(child)
  }
  return nodes
}

// --- the data section encoding (spec "Data Section Format") ---

function control(type: number, size: number): number[] {
  const head = type <= 7 ? type << 5 : 0
  const ext = type <= 7 ? [] : [type - 7]
  if (size < 29) return [head | size, ...ext]
  if (size < 285) return [head | 29, ...ext, size - 29]
  if (size < 65_821) return [head | 30, ...ext, ...beBytes(size - 285, 2)]
  return [head | 31, ...ext, ...beBytes(size - 65_821, 3)]
}

function beBytes(value: number | bigint, length: number): number[] {
  const out: number[] = []
  let v = BigInt(value)
  for (let i = 0; i < length; i++, v >>= 8n) out.unshift(Number(v & 0xffn))
  return out
}

function encode(value: Value): number[] {
  if (typeof value === 'string') {
    const bytes = [...new TextEncoder().encode(value)]
    return [...control(2, bytes.length), ...bytes]
  }
  if (typeof value === 'number') {
    const view = new DataView(new ArrayBuffer(8))
    view.setFloat64(0, value)
    return [...control(3, 8), ...new Uint8Array(view.buffer)]
  }
  if (Array.isArray(value)) return [...control(11, value.length), ...value.flatMap(encode)]
  if ('uint64' in value && typeof value.uint64 === 'bigint') return [...control(9, 8), ...beBytes(value.uint64, 8)]
  if ('uint' in value && typeof value.uint === 'number') {
    const size = value.uint === 0 ? 0 : Math.ceil(value.uint.toString(16).length / 2)
    return [...control(value.bytes === 4 ? 6 : 5, size), ...beBytes(value.uint, size)]
  }
  const pairs = Object.entries(value as { [key: string]: Value })
  return [...control(7, pairs.length), ...pairs.flatMap(([k, v]) => [...encode(k), ...encode(v)])]
}
