// The origin's access control, assembled from the configuration: the signing keys in the shared
// database, the verifier over them, public repositories from the database, the failed-login
// limiter. What createOriginApp's `auth` dependency holds (origin/deps.ts).

import type { Db } from '../../db/client.ts'
import { accountByName } from '../../db/queries/accounts.ts'
import { isRepositoryPublic } from '../../db/queries/visibility.ts'
import type { TokenClaims } from '../../oci/auth/types.ts'
import { TokenInvalid, createTokenVerifier, type VerifyToken } from '../../oci/auth/verify.ts'
import { authSettingsFor } from '../config/auth.ts'
import type { MeridianConfig } from '../config/types.ts'
import type { OriginAuth } from '../deps.ts'
import type { RegistryTokenRole } from '../routes/admin.ts'
import { holdsAdminApiAccess } from './grants.ts'
import { createLoginLimiter } from './login-limit.ts'
import { clientAddressOf } from './client-address.ts'
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
    address: clientAddressOf(config.origin.trustedProxies),
  }
}

/**
 * For the admin API (origin/routes/admin.ts): what a registry token may do there. 'admin': an
 * enabled admin account's token that holds ADMIN_API_SCOPE; 'unscoped': an admin account's token
 * without it (a pull token, say: those travel to every edge); 'other': anyone else's; null: not a
 * valid registry token. The account is read now, not taken from the token: one disabled or demoted
 * since the token was issued is refused at once.
 */
export function registryTokenRole(db: Db, verify: VerifyToken): (token: string) => Promise<RegistryTokenRole | null> {
  return async function roleOf(token) {
    let claims: TokenClaims
    try {
      claims = await verify(token)
    } catch (err) {
      if (err instanceof TokenInvalid) return null
      throw err
    }
    const account = claims.sub === '' ? null : await accountByName(db, claims.sub)
    if (!account?.isAdmin || account.disabled) return 'other'
    return holdsAdminApiAccess(claims.access) ? 'admin' : 'unscoped'
  }
}
