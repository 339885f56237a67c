// The pull suite against the edge running on Bun (`edge/entry/bun.ts`, a child process), plus
// the nearest-location redirect. The client connects from 127.0.0.1, which no IP database places,
// so the edge locates it at its home (Frankfurt).

import { defineRuntimeEdgeTests } from './runtime-edge-suite.ts'

defineRuntimeEdgeTests('bun', 'edge on Bun', { headers: {}, position: { lat: 50.1, lon: 8.7 }, source: 'home' })
