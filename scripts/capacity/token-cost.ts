// What one password/robot-secret token request costs the origin: the scrypt verify of
// origin/auth/passwords.ts (N = 2^15, r = 8), timed alone and 4 at once (libuv's default pool),
// with the process CPU time per verify; and, for a refresh-token grant, what replaces it: one
// SHA-256 of the presented token and one ES256 signature (the token itself). docs/scaling.md scales it to the token rate at peak.
//
//   npx tsx scripts/capacity/token-cost.ts --count=40

import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import { hashSecret, verifySecret } from '../../origin/auth/passwords.ts'

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')))
const COUNT = Number(args.count ?? 40)

const hash = await hashSecret('robot-secret-for-timing')
const cpu0 = process.cpuUsage()
let t = performance.now()
for (let i = 0; i < COUNT; i++) if (!(await verifySecret('robot-secret-for-timing', hash))) throw new Error('verify failed')
const sequentialMs = (performance.now() - t) / COUNT
const cpu1 = process.cpuUsage(cpu0)
t = performance.now()
await Promise.all(Array.from({ length: COUNT }, () => verifySecret('robot-secret-for-timing', hash)))
const concurrentPerSecond = COUNT / ((performance.now() - t) / 1000)
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const SIGNS = 2000
t = performance.now()
for (let i = 0; i < SIGNS; i++) {
  createHash('sha256').update(`refresh-${i}`).digest()
  sign('sha256', Buffer.from(`header.payload-${i}`), { key: privateKey, dsaEncoding: 'ieee-p1363' })
}
const refreshGrantCpuMs = (performance.now() - t) / SIGNS

console.log(JSON.stringify({
  count: COUNT,
  wallMsPerVerify: sequentialMs,
  cpuMsPerVerify: (cpu1.user + cpu1.system) / 1000 / COUNT,
  verifiesPerSecondConcurrent: concurrentPerSecond,
  refreshGrantCryptoMs: refreshGrantCpuMs,
}, null, 2))
