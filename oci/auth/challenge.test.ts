import { describe, expect, it } from 'vitest'
import { renderError } from '../errors.ts'
import { challengeHeader, unauthorized } from './challenge.ts'
import type { AuthSettings } from './types.ts'

const settings: AuthSettings = { realm: 'https://registry.example:8443/v2/token', service: 'registry.example:8443', issuer: 'meridian:registry.example:8443' }

describe('challengeHeader', () => {
  it('names the realm and service, and nothing else without a scope', () => {
    expect(challengeHeader(settings)).toBe('Bearer realm="https://registry.example:8443/v2/token",service="registry.example:8443"')
  })

  it('adds the scope as distribution writes it', () => {
    expect(challengeHeader(settings, { scope: [{ type: 'repository', name: 'samalba/my-app', actions: ['push', 'pull'] }] }))
      .toBe('Bearer realm="https://registry.example:8443/v2/token",service="registry.example:8443",scope="repository:samalba/my-app:pull,push"')
  })

  it('puts several scopes space-separated in one parameter, merged by resource', () => {
    const scope = [
      { type: 'repository' as const, name: 'mine', actions: ['push', 'pull'] },
      { type: 'repository' as const, name: 'team/src', actions: ['pull'] },
      { type: 'repository' as const, name: 'mine', actions: ['pull'] },
    ]
    expect(challengeHeader(settings, { scope, error: 'insufficient_scope' }))
      .toBe('Bearer realm="https://registry.example:8443/v2/token",service="registry.example:8443",scope="repository:mine:pull,push repository:team/src:pull",error="insufficient_scope"')
  })

  it('adds the error after the scope, or alone', () => {
    expect(challengeHeader(settings, { error: 'invalid_token' })).toBe('Bearer realm="https://registry.example:8443/v2/token",service="registry.example:8443",error="invalid_token"')
    expect(challengeHeader(settings, { scope: [], error: 'invalid_token' })).toMatch(/service="registry.example:8443",error="invalid_token"$/)
  })

  it('escapes quotes and backslashes in quoted values', () => {
    expect(challengeHeader({ ...settings, realm: 'https://x/"a\\b' })).toContain('realm="https://x/\\"a\\\\b"')
  })
})

describe('unauthorized', () => {
  it('is the spec UNAUTHORIZED with the challenge header and the wanted access as detail', async () => {
    const err = unauthorized(settings, { scope: [{ type: 'repository', name: 'app', actions: ['pull', 'push'] }], error: 'insufficient_scope' })
    expect(err.status).toBe(401)
    expect(err.code).toBe('UNAUTHORIZED')
    const res = renderError(err)
    expect(res.headers.get('WWW-Authenticate')).toBe(challengeHeader(settings, { scope: [{ type: 'repository', name: 'app', actions: ['pull', 'push'] }], error: 'insufficient_scope' }))
    const body = await res.json() as { errors: Array<{ code: string; message: string; detail: unknown }> }
    expect(body.errors[0]!.code).toBe('UNAUTHORIZED')
    expect(body.errors[0]!.detail).toEqual([{ Type: 'repository', Name: 'app', Action: 'pull' }, { Type: 'repository', Name: 'app', Action: 'push' }])
  })

  it('has a null detail and the default message without a scope; a given message wins', () => {
    const err = unauthorized(settings)
    expect(err.detail).toBeNull()
    expect(err.message).toBe('authentication required')
    expect(unauthorized(settings, { message: 'token required' }).message).toBe('token required')
  })

  it('keeps the challenge on a HEAD answer, which has no body', async () => {
    const res = renderError(unauthorized(settings, { error: 'invalid_token' }), 'HEAD')
    expect(res.status).toBe(401)
    expect(res.headers.get('WWW-Authenticate')).toContain('error="invalid_token"')
    expect(await res.text()).toBe('')
  })
})
