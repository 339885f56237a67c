// The pull suite against the edge inside real workerd (`wrangler dev`, edge/entry/workers.ts): the
// region index in a local D1, synced only by the Cron Trigger (settle() fires it through
// `/__scheduled`, so every pull-suite step also tests the scheduled handler), plus the
// nearest-location redirect. The client is placed by `request.cf`, as Cloudflare would place it:
// wrangler's local runtime takes it from the MF-CF-Blob header (here: Singapore).

import { defineRuntimeEdgeTests } from './runtime-edge-suite.ts'

const SINGAPORE = { lat: 1.35, lon: 103.82 }

defineRuntimeEdgeTests('workerd', 'edge on workerd', {
  headers: { 'MF-CF-Blob': JSON.stringify({ latitude: String(SINGAPORE.lat), longitude: String(SINGAPORE.lon) }) },
  position: SINGAPORE, source: 'cf',
})
