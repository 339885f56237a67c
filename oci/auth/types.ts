// Access control's shared vocabulary (README "Access control"; distribution docs/spec/auth/token.md
// and jwt.md): what a request needs, what a token grants, and how a verifier finds its keys. The
// origin issues tokens; the origin and every edge verify them with the same portable code
// (oci/auth/*). Types only: nothing here runs.

/** Repository actions, in the order they are written in scopes and tokens. */
export const REPOSITORY_ACTIONS = ['pull', 'push', 'delete', 'admin'] as const
export type RepositoryAction = (typeof REPOSITORY_ACTIONS)[number]

/**
 * One entry of a scope (`repository:team/app:pull,push`, `registry:catalog:*`) and of a token's
 * `access` claim: the same shape in both (jwt.md "access").
 */
export interface Access {
  type: 'repository' | 'registry'
  name: string
  actions: string[]
}

/** The claims of a verified registry token (jwt.md). `sub` is "" for an anonymous token. */
export interface TokenClaims {
  iss: string
  sub: string
  aud: string
  exp: number
  nbf: number
  iat: number
  jti: string
  access: Access[]
}

/** Who is asking, once the guard has let a request through; set as `c.get('auth')`. */
export interface Caller {
  /** The account name, or "" when anonymous (no token, public repository). */
  subject: string
  /** What the presented token grants; [] for an anonymous caller without a token. */
  access: Access[]
}

/** Where a verifier finds public keys: the origin's own key store, or an edge's cached JWKS. */
export interface KeySource {
  /** The public JWK of `kid` (with `alg`), or null when no such key is known even after a refresh. */
  key(kid: string): Promise<JsonWebKeyWithKid | null>
}

export type JsonWebKeyWithKid = JsonWebKey & { kid: string; alg: string }

/** A JSON Web Key Set as served at JWKS_PATH. */
export interface Jwks {
  keys: JsonWebKeyWithKid[]
}

/** Whether a repository is readable anonymously (the origin's table, or the region index). */
export type IsPublic = (repository: string) => Promise<boolean>

/** Settings shared by the token endpoint (origin) and every verifier (origin and edges). */
export interface AuthSettings {
  /** The token endpoint clients are sent to: `<origin public URL>/v2/token`. */
  realm: string
  /** The `service` of challenges and the `aud` of tokens (default: the origin public URL's host). */
  service: string
  /** The `iss` of tokens (default: "meridian:" + the origin public URL's host). */
  issuer: string
}

/** Where the origin serves its public keys. */
export const JWKS_PATH = '/.well-known/jwks.json'
/** The token endpoint (GET: token.md; POST: oauth.md). */
export const TOKEN_PATH = '/v2/token'
