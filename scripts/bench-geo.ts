// Micro-benchmark of the geolocation chain on Node: `npx tsx scripts/bench-geo.ts`. Figures quoted
// in README "Geolocation (edge)". Default database from node_modules, or MERIDIAN_GEO_MMDB.
import { loadGeoDatabase } from '../edge/entry/geo-node.ts'
import { mmdbLocator } from '../edge/geo/mmdb-locator.ts'
import { selfHostedLocate } from '../edge/geo/self-hosted.ts'

const N = 200_000
const perCall = (start: number, n: number) => `${(((performance.now() - start) * 1000) / n).toFixed(2)} µs`

let start = performance.now()
const database = await loadGeoDatabase(process.env)
if (!database) throw new Error('MERIDIAN_GEO_MMDB=none: nothing to measure')
console.log(`read ${database.byteLength} bytes in ${(performance.now() - start).toFixed(1)} ms`)
start = performance.now()
const locate = mmdbLocator({ database, trustedProxies: ['10.0.0.0/8'] })
console.log(`open: ${(performance.now() - start).toFixed(2)} ms`)

const request = new Request('http://edge.test/v2/', { headers: { 'x-forwarded-for': '8.8.8.8' } })
const v4 = Array.from({ length: 1000 }, (_, i) => `${((i * 37) % 223) + 1}.${i % 256}.${(i * 7) % 256}.${i % 200}`)
const v6 = Array.from({ length: 1000 }, (_, i) => `2a0${i % 10}:${(i * 37).toString(16)}::${i.toString(16)}`)
for (const [family, peers] of [['IPv4', v4], ['IPv6', v6]] as const) {
  for (let round = 0; round < 2; round++) {
    start = performance.now()
    for (let i = 0; i < N; i++) locate({ request, peer: peers[i % peers.length]! })
    console.log(`mmdb lookup ${family} (round ${round + 1}): ${perCall(start, N)}`)
  }
}
const chain = selfHostedLocate({ home: { lat: 0, lon: 0 }, trustedProxies: ['10.0.0.0/8'], database })
start = performance.now()
for (let i = 0; i < N / 2; i++) await chain({ request, peer: '10.0.0.5' })
console.log(`self-hosted chain via trusted X-Forwarded-For: ${perCall(start, N / 2)}`)
