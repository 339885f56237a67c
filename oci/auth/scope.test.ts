import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { covers, formatScope, parseScope, parseScopes, requiredAccess, type Requirement } from './scope.ts'
import type { Access } from './types.ts'

const repo = (name: string, ...actions: string[]): Access => ({ type: 'repository', name, actions })
const need = (...needs: Access[]): Requirement => ({ kind: 'access', needs })
const at = (method: string, path: string) => requiredAccess(method, new URL(path, 'https://registry.example'))

describe('parseScope', () => {
  it('reads repository scopes, names with slashes included', () => {
    expect(parseScope('repository:samalba/my-app:pull,push')).toEqual(repo('samalba/my-app', 'pull', 'push'))
    expect(parseScope('repository:a/b/c:pull')).toEqual(repo('a/b/c', 'pull'))
  })

  it('drops the resource class', () => {
    expect(parseScope('repository(plugin):x:pull')).toEqual(repo('x', 'pull'))
  })

  it('reads the catalog scope', () => {
    expect(parseScope('registry:catalog:*')).toEqual({ type: 'registry', name: 'catalog', actions: ['*'] })
  })

  it('orders and deduplicates actions', () => {
    expect(parseScope('repository:x:delete,push,pull,push')).toEqual(repo('x', 'pull', 'push', 'delete'))
    expect(parseScope('repository:x:admin,*,pull')?.actions).toEqual(['pull', 'admin', '*'])
  })

  it('splits the type at the first colon and the actions at the last one', () => {
    // A hostname with a port: the name holds a colon, which no repository name may.
    expect(parseScope('repository:localhost:5000/app:pull')).toBeNull()
    expect(parseScope('repository:a:b:pull')).toBeNull()
  })

  it('refuses malformed scopes', () => {
    for (const bad of [
      '', 'repository', 'repository:x', 'repository::pull', 'repository:x:', 'repository:x:,',
      'repository:X:pull', 'repository:x/:pull', 'repository:x:pull;rm', 'repository:x:PULL',
      'repo sitory:x:pull', 'plugin:x:pull', 'repository(:x:pull', 'repository(a)(b):x:pull',
      'registry:cata/log:*', `repository:${'a'.repeat(256)}:pull`,
    ]) {
      expect(parseScope(bad), bad).toBeNull()
    }
  })
})

describe('parseScopes and formatScope', () => {
  it('reads several space-separated scopes per value, drops malformed ones and merges by resource', () => {
    expect(parseScopes(['repository:a:pull repository:b:push', 'bad', 'repository:a:push  registry:catalog:*'])).toEqual([
      repo('a', 'pull', 'push'), repo('b', 'push'), { type: 'registry', name: 'catalog', actions: ['*'] },
    ])
    expect(parseScopes([])).toEqual([])
  })

  it('formats the inverse of parseScope, actions in canonical order', () => {
    expect(formatScope(repo('team/app', 'push', 'pull'))).toBe('repository:team/app:pull,push')
    expect(formatScope({ type: 'registry', name: 'catalog', actions: ['*'] })).toBe('registry:catalog:*')
    for (const s of ['repository:samalba/my-app:pull,push', 'registry:catalog:*', 'repository:a.b/c-d__e:pull,push,delete,admin']) {
      expect(formatScope(parseScope(s)!)).toBe(s)
    }
  })
})

describe('covers', () => {
  it('needs every action on the same resource, across entries', () => {
    expect(covers([repo('a', 'pull')], repo('a', 'pull'))).toBe(true)
    expect(covers([repo('a', 'pull')], repo('a', 'push', 'pull'))).toBe(false)
    expect(covers([repo('a', 'pull'), repo('a', 'push')], repo('a', 'push', 'pull'))).toBe(true)
    expect(covers([repo('b', 'pull', 'push')], repo('a', 'pull'))).toBe(false)
    expect(covers([{ type: 'registry', name: 'a', actions: ['pull'] }], repo('a', 'pull'))).toBe(false)
  })

  it('implies nothing: push is not pull, admin is not delete, a repository * is not catalog', () => {
    expect(covers([repo('a', 'push')], repo('a', 'pull'))).toBe(false)
    expect(covers([repo('a', 'admin')], repo('a', 'delete'))).toBe(false)
    expect(covers([repo('catalog', '*')], { type: 'registry', name: 'catalog', actions: ['*'] })).toBe(false)
    expect(covers([{ type: 'registry', name: 'catalog', actions: ['*'] }], { type: 'registry', name: 'catalog', actions: ['*'] })).toBe(true)
  })

  it('never covers a need without actions', () => {
    expect(covers([repo('a', 'pull')], repo('a'))).toBe(false)
  })
})

describe('requiredAccess', () => {
  const d = 'sha256:' + 'a'.repeat(64)

  it('asks nothing outside /v2 and at the token and JWKS endpoints', () => {
    for (const [m, p] of [['GET', '/'], ['GET', '/metrics'], ['GET', '/.well-known/jwks.json'], ['GET', '/v2/token'], ['POST', '/v2/token'], ['GET', '/v20/x'], ['GET', '/v2x']]) {
      expect(at(m!, p!), `${m} ${p}`).toEqual({ kind: 'none' })
    }
  })

  it('asks a valid token for the base endpoint', () => {
    for (const m of ['GET', 'HEAD']) {
      expect(at(m, '/v2/')).toEqual({ kind: 'authenticated' })
      expect(at(m, '/v2')).toEqual({ kind: 'authenticated' })
    }
  })

  it('asks pull for reads of manifests, blobs, tags and referrers', () => {
    for (const m of ['GET', 'HEAD', 'get']) {
      expect(at(m, '/v2/team/app/manifests/latest')).toEqual(need(repo('team/app', 'pull')))
      expect(at(m, `/v2/team/app/blobs/${d}`)).toEqual(need(repo('team/app', 'pull')))
      expect(at(m, '/v2/team/app/tags/list?n=10')).toEqual(need(repo('team/app', 'pull')))
      expect(at(m, `/v2/team/app/referrers/${d}?artifactType=x`)).toEqual(need(repo('team/app', 'pull')))
    }
  })

  it('asks push and pull to write, delete to delete', () => {
    expect(at('PUT', '/v2/app/manifests/v1')).toEqual(need(repo('app', 'pull', 'push')))
    expect(at('DELETE', `/v2/app/manifests/${d}`)).toEqual(need(repo('app', 'delete')))
    expect(at('DELETE', `/v2/app/blobs/${d}`)).toEqual(need(repo('app', 'delete')))
    expect(at('POST', '/v2/app/blobs/uploads/')).toEqual(need(repo('app', 'pull', 'push')))
    expect(at('POST', '/v2/app/blobs/uploads')).toEqual(need(repo('app', 'pull', 'push')))
    expect(at('POST', `/v2/app/blobs/uploads/?digest=${d}`)).toEqual(need(repo('app', 'pull', 'push')))
    expect(at('PATCH', '/v2/app/blobs/uploads/0b1c')).toEqual(need(repo('app', 'pull', 'push')))
    expect(at('PUT', `/v2/app/blobs/uploads/0b1c?digest=${d}`)).toEqual(need(repo('app', 'pull', 'push')))
  })

  it('asks push for an upload session status and its cancellation', () => {
    expect(at('GET', '/v2/app/blobs/uploads/0b1c')).toEqual(need(repo('app', 'push')))
    expect(at('HEAD', '/v2/app/blobs/uploads/0b1c')).toEqual(need(repo('app', 'push')))
    expect(at('DELETE', '/v2/app/blobs/uploads/0b1c')).toEqual(need(repo('app', 'push')))
  })

  it('asks pull on the source of a mount, besides push and pull on the target', () => {
    expect(at('POST', `/v2/mine/blobs/uploads/?mount=${d}&from=team/secret`)).toEqual(need(repo('mine', 'pull', 'push'), repo('team/secret', 'pull')))
    expect(at('POST', `/v2/mine/blobs/uploads/?from=team%2Fsecret&mount=${d}`)).toEqual(need(repo('mine', 'pull', 'push'), repo('team/secret', 'pull')))
    expect(at('POST', `/v2/mine/blobs/uploads/?mount=${d}&from=mine`)).toEqual(need(repo('mine', 'pull', 'push')))
    expect(at('POST', `/v2/mine/blobs/uploads/?mount=${d}&from=a&from=b`)).toEqual(need(repo('mine', 'pull', 'push'), repo('a', 'pull'), repo('b', 'pull')))
    // An invalid source is no mount (the route falls back to a plain upload).
    expect(at('POST', `/v2/mine/blobs/uploads/?mount=${d}&from=Bad!`)).toEqual(need(repo('mine', 'pull', 'push')))
  })

  it('reads names that contain the words blobs, manifests, uploads, tags or referrers', () => {
    expect(at('GET', `/v2/a/blobs/b/blobs/${d}`)).toEqual(need(repo('a/blobs/b', 'pull')))
    expect(at('GET', '/v2/a/manifests/b/manifests/latest')).toEqual(need(repo('a/manifests/b', 'pull')))
    expect(at('GET', '/v2/a/manifests/tags/list')).toEqual(need(repo('a/manifests', 'pull')))
    expect(at('GET', `/v2/blobs/uploads/blobs/${d}`)).toEqual(need(repo('blobs/uploads', 'pull')))
    expect(at('PATCH', '/v2/x/blobs/y/blobs/uploads/u1')).toEqual(need(repo('x/blobs/y', 'pull', 'push')))
    expect(at('GET', `/v2/referrers/referrers/${d}`)).toEqual(need(repo('referrers', 'pull')))
    expect(at('DELETE', `/v2/a/blobs/uploads`)).toEqual(need(repo('a', 'delete')))
  })

  it('asks the catalog scope for the catalog', () => {
    expect(at('GET', '/v2/_catalog?n=5')).toEqual(need({ type: 'registry', name: 'catalog', actions: ['*'] }))
    expect(at('HEAD', '/v2/_catalog')).toEqual(need({ type: 'registry', name: 'catalog', actions: ['*'] }))
    expect(at('POST', '/v2/_catalog')).toEqual({ kind: 'authenticated' })
  })

  it('decodes the name as the route does', () => {
    expect(at('GET', '/v2/team%2Fapp/manifests/latest')).toEqual(need(repo('team/app', 'pull')))
    expect(at('GET', '/v2/te%61m/app/manifests/latest')).toEqual(need(repo('team/app', 'pull')))
    expect(at('GET', '/v2/team/app/%6danifests/latest')).toEqual(need(repo('team/app', 'pull')))
    expect(at('GET', '/v2/team/../secret/manifests/latest')).toEqual(need(repo('secret', 'pull')))
    expect(at('GET', '/v2/team/%2E%2E/secret/manifests/latest')).toEqual(need(repo('secret', 'pull')))
    expect(at('GET', '/v2/team/app%252Fx/manifests/latest')).toEqual({ kind: 'authenticated' })
  })

  it('reads an encoded /v2 prefix as the router does', () => {
    expect(at('GET', '/%76%32/team/app/manifests/latest')).toEqual(need(repo('team/app', 'pull')))
    expect(at('GET', '/v%32/team/app/blobs/uploads/u')).toEqual(need(repo('team/app', 'push')))
    expect(at('GET', '/%76%32/')).toEqual({ kind: 'authenticated' })
    expect(at('GET', '/%76%32/_catalog')).toEqual(need({ type: 'registry', name: 'catalog', actions: ['*'] }))
    expect(at('GET', '/v2/%74oken')).toEqual({ kind: 'none' })
    // %2F is no path separator to the router: this is no /v2 path at all.
    expect(at('GET', '/v2%2Fteam/app/manifests/latest')).toEqual({ kind: 'none' })
  })

  it('asks only a valid token for unknown paths, other verbs and malformed names', () => {
    for (const [m, p] of [
      ['GET', '/v2/app'], ['GET', '/v2/app/'], ['GET', '/v2/app/manifests/'], ['GET', `/v2/app/blobs/`], ['GET', '/v2/app/tags/list/'],
      ['POST', '/v2/app/manifests/latest'], ['PATCH', `/v2/app/blobs/${d}`], ['PUT', `/v2/app/blobs/${d}`], ['POST', '/v2/app/tags/list'],
      ['GET', '/v2/app/blobs/uploads/'], ['DELETE', '/v2/app/blobs/uploads/'], ['OPTIONS', '/v2/app/manifests/x'], ['DELETE', '/v2/'],
      ['GET', '/v2/App/manifests/latest'], ['GET', '/v2/a//b/manifests/latest'], ['GET', '/v2/a%ZZ/manifests/latest'],
      ['GET', '/v2/manifests/latest'], ['GET', '/v2/blobs/uploads/u'], ['GET', `/v2/${'a'.repeat(256)}/tags/list`],
      ['GET', '/v2/_catalog/x'], ['GET', '/v2/token/'], ['GET', '/v2/app/unknown/x'],
    ]) {
      expect(at(m!, p!), `${m} ${p}`).toEqual({ kind: 'authenticated' })
    }
  })

  it('finds the same repository name as the routes do', async () => {
    // The routes' own patterns (oci/pull/routes.ts, origin/routes/*): Hono decides which matches.
    const app = new Hono()
    const named = (c: { req: { param(k: string): string } }) => new Response(c.req.param('name'))
    for (const p of ['/v2/:name{.+}/manifests/:reference', '/v2/:name{.+}/blobs/:digest', '/v2/:name{.+}/tags/list', '/v2/:name{.+}/referrers/:digest']) {
      app.get(p, named)
    }
    app.post('/v2/:name{.+}/blobs/uploads/', named)
    app.patch('/v2/:name{.+}/blobs/uploads/:uuid', named)
    for (const [m, p] of [
      ['GET', '/v2/a/blobs/b/blobs/sha256:x'], ['GET', '/v2/a/manifests/b/manifests/v1'], ['GET', '/v2/a/manifests/tags/list'],
      ['GET', '/v2/a%2Fb/manifests/v1'], ['GET', '/v2/%61/blobs/d'], ['GET', '/v2/blobs/uploads/blobs/d'], ['POST', '/v2/a/blobs/uploads/blobs/uploads/'],
      ['PATCH', '/v2/x/blobs/uploads/blobs/uploads/u'], ['GET', '/v2/x/referrers/referrers/d'], ['GET', '/v2/x/tags/list/tags/list'],
      ['GET', '/%76%32/a/manifests/v1'], ['GET', '/v2/a/%6danifests/v1'], ['GET', '/v2/a%2F%62/blobs/d'], ['PATCH', '/v2/a/blobs/%75ploads/u'],
    ]) {
      const res = await app.request(`http://registry.example${p}`, { method: m })
      const required = at(m!, p!)
      expect(res.status, `${m} ${p}`).toBe(200)
      expect(required.kind === 'access' && required.needs[0]!.name, `${m} ${p}`).toBe(await res.text())
    }
  })
})
