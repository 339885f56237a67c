// A synthetic registry of N blobs with the proportions docs/scaling.md assumes, generated
// deterministically so the origin (SQLite, PostgreSQL) and the edge index hold the same rows.
//
// Per blob: 3 placements (one per location), 1.5 repository links, 2 finished replication jobs
// (the copies to the two other locations; done jobs are kept for lag figures). Per 5 blobs: one
// manifest of ~2 KB referencing 9 blobs (8 layers + config). Per 10 blobs: one tag. Per 100 blobs:
// one repository. Digests are real SHA-256 hex strings (random-looking, so b-trees split as they
// would on real keys, not as on sequential ones).

import { createHash } from 'node:crypto'

export const LOCATIONS = ['aws-eu-west-1', 'gcp-us-central1', 'r2-weur'] as const
export const RATIOS = { placementsPerBlob: 3, linksPerBlob: 1.5, jobsPerBlob: 2, blobsPerManifest: 5, refsPerManifest: 9, blobsPerTag: 10, blobsPerRepository: 100 }

export interface Shape { blobs: number; repositories: number; manifests: number; tags: number }

export function shape(blobs: number): Shape {
  return {
    blobs,
    repositories: Math.max(1, Math.round(blobs / RATIOS.blobsPerRepository)),
    manifests: Math.round(blobs / RATIOS.blobsPerManifest),
    tags: Math.round(blobs / RATIOS.blobsPerTag),
  }
}

export function digestOf(kind: string, i: number): string {
  return 'sha256:' + createHash('sha256').update(`${kind}:${i}`).digest('hex')
}

export const blobDigest = (i: number) => digestOf('blob', i)
export const manifestDigest = (i: number) => digestOf('manifest', i)

/** Names like `team-0042/service-7`: namespaces of ~10 repositories. */
export function repositoryName(i: number): string {
  return `team-${String(Math.floor(i / 10)).padStart(4, '0')}/service-${i % 10}`
}

/** A blob size: log-uniform between 1 KiB and 512 MiB (its value does not change row sizes much). */
export function blobSize(i: number): number {
  const u = (parseInt(blobDigest(i).slice(7, 15), 16) / 0xffffffff)
  return Math.round(1024 * Math.pow(2, u * 19))
}

/** The repositories blob i is linked into: its own, and every second blob also a neighbour's. */
export function linksOf(i: number, s: Shape): number[] {
  const own = i % s.repositories
  return i % 2 === 0 ? [own, (own + 1) % s.repositories] : [own]
}

/** The blobs manifest m references (9: config + 8 layers), overlapping its neighbours'. */
export function referencesOf(m: number, s: Shape): number[] {
  const out: number[] = []
  for (let k = 0; k < RATIOS.refsPerManifest; k++) out.push((m * RATIOS.blobsPerManifest + k) % s.blobs)
  return out
}

export function manifestRepository(m: number, s: Shape): number {
  return (m * RATIOS.blobsPerManifest) % s.repositories
}

/** An OCI image manifest as a client would push it: ~2 KB of JSON. */
export function manifestPayload(m: number, s: Shape): Buffer {
  const [config, ...layers] = referencesOf(m, s)
  const descriptor = (mediaType: string, i: number) => ({ mediaType, digest: blobDigest(i), size: blobSize(i) })
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: descriptor('application/vnd.oci.image.config.v1+json', config),
    layers: layers.map((i) => descriptor('application/vnd.oci.image.layer.v1.tar+gzip', i)),
    annotations: { 'org.opencontainers.image.created': new Date(1_700_000_000_000 + m * 1000).toISOString(), 'org.opencontainers.image.revision': digestOf('rev', m).slice(7, 47) },
  }, null, 2))
}

/** Tag t points at manifest t * 2 (half the manifests are tagged; the rest are older pushes). */
export function tagOf(t: number, s: Shape): { repository: number; name: string; manifest: number } {
  const manifest = (t * 2) % s.manifests
  return { repository: manifestRepository(manifest, s), name: `v1.${t}.0`, manifest }
}

/** Batches of `size` from a generator of rows. */
export function* batches<T>(count: number, size: number, row: (i: number) => T | T[]): Generator<T[]> {
  let batch: T[] = []
  for (let i = 0; i < count; i++) {
    const r = row(i)
    if (Array.isArray(r)) batch.push(...r)
    else batch.push(r)
    if (batch.length >= size) { yield batch; batch = [] }
  }
  if (batch.length) yield batch
}
