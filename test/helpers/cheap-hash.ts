// A stored secret hash in origin/auth/passwords.ts's format at N = 2^10 instead of 2^15: verifySecret
// reads the parameters from the string, so a test that spends many real scrypt checks (the
// remembered-secret tests) stays fast. Production hashes always use hashSecret.

import { randomBytes, scryptSync } from 'node:crypto'

export function cheapHash(secret: string): string {
  const salt = randomBytes(16)
  const hash = scryptSync(secret.normalize('NFC'), salt, 32, { N: 1024, r: 8, p: 1 })
  return `scrypt$1024$8$1$${salt.toString('base64')}$${hash.toString('base64')}`
}
