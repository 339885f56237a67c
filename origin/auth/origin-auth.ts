// The origin's access control, assembled from the configuration: the signing keys in the shared
// database, the verifier over them, public repositories from the database, the failed-login
// limiter. What createOriginApp's `auth` dependency holds (origin/deps.ts).

import type { Db } from '../../db/client.ts'
import { accountByName } from '../../db/queries/accounts.ts'
import { isRepositoryPublic } from '../../db/queries/visibility.ts'
import { TokenInvalid, createTokenVerifier, type VerifyToken } from '../../oci/auth/verify.ts'
import { authSettingsFor } from '../config/auth.ts'
import type { MeridianConfig } from '../config/types.ts'
import type { OriginAuth } from '../deps.ts'
import { createLoginLimiter } from './login-limit.ts'
import type { KeyStore } from './signing-keys.ts'

/**
 * `originUrl`: where the origin listens, for the realm and service when no public URL is
 * configured (with port 0 it is known only once listening).
 */
export function createOriginAuth(db: Db, config: MeridianConfig, keys: KeyStore, originUrl: string): OriginAuth {
  const settings = authSettingsFor(config, originUrl)
  return {
    settings,
    verify: createTokenVerifier({ keys: keys.keySource, issuer: settings.issuer, audience: settings.service }),
    isPublic: async (repository) => isRepositoryPublic(db, repository),
    keys,
    tokenSeconds: config.auth.tokenSeconds,
    limiter: createLoginLimiter({ perAccount: config.auth.loginFailuresPerAccount, perAddress: config.auth.loginFailuresPerAddress }),
  }
}

/**
 * For the admin API (origin/routes/admin.ts): whom a registry token speaks for. The account is
 * read now, not taken from the token: one disabled or demoted since the token was issued is
 * refused at once.
 */
export function registryTokenRole(db: Db, verify: VerifyToken): (token: string) => Promise<'admin' | 'other' | null> {
  return async function roleOf(token) {
    let subject: string
    try {
      subject = (await verify(token)).sub
    } catch (err) {
      if (err instanceof TokenInvalid) return null
      throw err
    }
    const account = subject === '' ? null : accountByName(db, subject)
    return account?.isAdmin && !account.disabled ? 'admin' : 'other'
  }
}
