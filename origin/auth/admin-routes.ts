// The access-control part of the admin API (docs/access-control.md "Admin API"), mounted inside
// the admin API's own app (origin/routes/admin.ts), behind its credential check, with one rule
// more: no loopback exception. Whoever can reach a loopback port could otherwise make themselves
// an admin of the registry, and access control would stop at the machine's edge. JSON in and out;
// a secret is in the answer that made it and nowhere else (never in the log).

import { Hono, type Context } from 'hono'
import type { Db } from '../../db/client.ts'
import { publicRepositoryNames } from '../../db/queries/visibility.ts'
import { ociError } from '../../oci/errors.ts'
import type { Logger } from '../log.ts'
import { adminAccessOf, type AdminEnv } from '../routes/admin.ts'
import {
  createRobot, createUser, describeAccess, describeAccount, grant, removeAccount, resetSecret, revoke, rotateKey, setAdmin, setDisabled,
  setPublic,
} from './access-admin.ts'
import { ADMIN_API_SCOPE } from './grants.ts'
import type { KeyStore } from './signing-keys.ts'

export interface AccessAdminDeps {
  db: Db
  keys: KeyStore
  log?: Logger
}

type Body = Record<string, unknown>

async function requireCredential(c: Context<AdminEnv>, next: () => Promise<void>): Promise<void> {
  const access = adminAccessOf(c)
  if (access !== 'token' && access !== 'account') {
    throw ociError('UNAUTHORIZED', {
      message: `accounts and grants need MERIDIAN_ADMIN_TOKEN or an admin account's registry token with scope ${ADMIN_API_SCOPE}, on loopback too`,
      headers: { 'WWW-Authenticate': 'Bearer realm="meridian-admin"' },
    })
  }
  await next()
}

async function jsonBody(c: Context): Promise<Body> {
  const body: unknown = await c.req.json().catch(() => null)
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw ociError('UNSUPPORTED', { status: 400, message: 'the body must be a JSON object' })
  return body as Body
}

function optionalString(body: Body, key: string): string | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw ociError('UNSUPPORTED', { status: 400, message: `${key} must be a string` })
  return value
}

function optionalBoolean(body: Body, key: string): boolean | undefined {
  const value = body[key]
  if (value === undefined) return undefined
  if (typeof value !== 'boolean') throw ociError('UNSUPPORTED', { status: 400, message: `${key} must be true or false` })
  return value
}

export function createAccessAdminRoutes(deps: AccessAdminDeps): Hono<AdminEnv> {
  const { db } = deps
  const routes = new Hono<AdminEnv>()
  // On these prefixes only (`/accounts/*` covers `/accounts` too): mounted into the admin app, a
  // bare `*` would reach its replication routes as well.
  for (const prefix of ['/accounts', '/robots', '/public-repositories', '/signing-keys']) routes.use(`${prefix}/*`, requireCredential)
  // What changed, for the operator's audit trail: names and targets, never a secret.
  const audit = (action: string, fields: Record<string, unknown>) => deps.log?.info('access changed', { action, ...fields })

  routes.get('/accounts', async (c) => c.json(await describeAccess(db)))
  routes.get('/accounts/:name', async (c) => c.json({ account: await describeAccount(db, c.req.param('name')) }))

  // {"name": "alice", "admin": false, "password": "..."}; without a password one is generated
  // and returned in this answer only.
  routes.post('/accounts', async (c) => {
    const body = await jsonBody(c)
    const password = optionalString(body, 'password')
    const issued = await createUser(db, optionalString(body, 'name') ?? '', { admin: optionalBoolean(body, 'admin'), password })
    audit('account created', { account: issued.account.name, kind: 'user', isAdmin: issued.account.isAdmin })
    return c.json(password === undefined ? issued : { account: issued.account }, 201)
  })

  // {"namespace": "team", "name": "ci"} → robot team+ci, its secret in this answer only.
  routes.post('/robots', async (c) => {
    const body = await jsonBody(c)
    const issued = await createRobot(db, optionalString(body, 'namespace') ?? '', optionalString(body, 'name') ?? '')
    audit('account created', { account: issued.account.name, kind: 'robot' })
    return c.json(issued, 201)
  })

  // {"password": "..."} or {} (generated, returned once; robots always generated).
  routes.post('/accounts/:name/secret', async (c) => {
    const body = await jsonBody(c)
    const password = optionalString(body, 'password')
    const issued = await resetSecret(db, c.req.param('name'), password)
    audit('secret reset', { account: issued.account.name })
    return c.json(password === undefined ? issued : { account: issued.account })
  })

  // {"disabled": true} and/or {"isAdmin": false}.
  routes.patch('/accounts/:name', async (c) => {
    const body = await jsonBody(c)
    const name = c.req.param('name')
    const disabled = optionalBoolean(body, 'disabled')
    const isAdmin = optionalBoolean(body, 'isAdmin')
    if (disabled === undefined && isAdmin === undefined) throw ociError('UNSUPPORTED', { status: 400, message: 'give disabled and/or isAdmin' })
    await describeAccount(db, name)
    if (disabled !== undefined) await setDisabled(db, name, disabled)
    if (isAdmin !== undefined) await setAdmin(db, name, isAdmin)
    audit('account changed', { account: name, disabled, isAdmin })
    return c.json({ account: await describeAccount(db, name) })
  })

  routes.delete('/accounts/:name', async (c) => {
    const name = c.req.param('name')
    await removeAccount(db, name)
    audit('account deleted', { account: name })
    return c.json({ deleted: name })
  })

  // {"target": "team/*", "actions": ["pull", "push"]} (or "pull,push"): replaces that grant.
  routes.post('/accounts/:name/grants', async (c) => {
    const body = await jsonBody(c)
    const target = optionalString(body, 'target') ?? ''
    const actions = body.actions
    if (typeof actions !== 'string' && !Array.isArray(actions)) throw ociError('UNSUPPORTED', { status: 400, message: 'actions must be a list of pull, push, delete, admin' })
    const account = await grant(db, c.req.param('name'), target, actions as string | string[])
    audit('granted', { account: account.name, target, actions: account.grants.find((g) => g.target === target)?.actions })
    return c.json({ account })
  })

  // ?target=team/* (a target holds a slash, so it is not a path segment).
  routes.delete('/accounts/:name/grants', async (c) => {
    const target = c.req.query('target') ?? ''
    const account = await revoke(db, c.req.param('name'), target)
    audit('revoked', { account: account.name, target })
    return c.json({ account })
  })

  routes.get('/public-repositories', async (c) => c.json({ repositories: await publicRepositoryNames(db) }))
  routes.put('/public-repositories/:name{.+}', async (c) => {
    const result = await setPublic(db, c.req.param('name'), true)
    if (result.changed) audit('repository made public', { repository: result.repository })
    return c.json(result)
  })
  routes.delete('/public-repositories/:name{.+}', async (c) => {
    const result = await setPublic(db, c.req.param('name'), false)
    if (result.changed) audit('repository made private', { repository: result.repository })
    return c.json(result)
  })

  routes.post('/signing-keys/rotate', async (c) => {
    const rotated = await rotateKey(deps.keys)
    audit('signing key rotated', rotated)
    return c.json(rotated)
  })
  return routes
}
