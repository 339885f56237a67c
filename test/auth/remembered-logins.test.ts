// The token endpoint remembers secrets it just verified (origin/auth/verified-secrets.ts), over a
// real database: repeated grants cost one scrypt, and a new password, a disabled account or a
// deleted one take effect on the very next request, remembered or not.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, closeDatabase, type Db } from '../../db/client.ts'
import { createAccount, deleteAccount, setAccountDisabled, setAccountSecret } from '../../db/queries/accounts.ts'
import { testDatabaseUrl } from '../helpers/test-database.ts'
import { verifySecret } from '../../origin/auth/passwords.ts'
import { cheapHash } from '../helpers/cheap-hash.ts'
import { createKeyStore } from '../../origin/auth/signing-keys.ts'
import { createTokenRoutes } from '../../origin/auth/token-routes.ts'
import { createSecretVerifier } from '../../origin/auth/verified-secrets.ts'
import { silentLogger } from '../../storage/log.ts'
import { TOKEN_PATH, type AuthSettings } from '../../oci/auth/types.ts'

const settings: AuthSettings = { realm: 'http://registry.test/v2/token', service: 'registry.test', issuer: 'meridian:registry.test' }

let dir: string
let db: Db
let hashes = 0
let app: ReturnType<typeof createTokenRoutes>

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meridian-remembered-'))
  db = await openDatabase(await testDatabaseUrl(dir))
  const check = (secret: string, hash: string | null) => { hashes++; return verifySecret(secret, hash) }
  app = createTokenRoutes({ db, keys: createKeyStore(db), settings, log: silentLogger, verifier: createSecretVerifier({ check }) })
})
afterAll(async () => {
  await closeDatabase(db)
  rmSync(dir, { recursive: true, force: true })
})

const grant = async (user: string, password: string) => {
  const res = await app.request(`${TOKEN_PATH}?service=${settings.service}`, { headers: { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } })
  await res.body?.cancel()
  return res.status
}

// Never retried (README "Tests"): a refusal that wrote something would pass a second attempt.
describe('remembered logins', { retry: 0 }, () => {
  it('spends one scrypt on five grants of one robot', async () => {
    await createAccount(db, { name: 'team+ci', kind: 'robot', secretHash: cheapHash('robot-secret') })
    const before = hashes
    for (let i = 0; i < 5; i++) expect(await grant('team+ci', 'robot-secret')).toBe(200)
    expect(hashes - before).toBe(1)
  })

  it('refuses the old password as soon as it is changed, and takes the new one', async () => {
    await createAccount(db, { name: 'dave', kind: 'user', secretHash: cheapHash('first password') })
    expect(await grant('dave', 'first password')).toBe(200)
    await setAccountSecret(db, 'dave', cheapHash('second password'))
    expect(await grant('dave', 'first password')).toBe(401)
    expect(await grant('dave', 'second password')).toBe(200)
  })

  it('refuses a remembered login once the account is disabled or deleted', async () => {
    await createAccount(db, { name: 'erin', kind: 'user', secretHash: cheapHash('erin password') })
    expect(await grant('erin', 'erin password')).toBe(200)
    await setAccountDisabled(db, 'erin', true)
    expect(await grant('erin', 'erin password')).toBe(403)
    await deleteAccount(db, 'erin')
    expect(await grant('erin', 'erin password')).toBe(401)
  })
})
