import { describe, expect, it } from 'vitest'
import { mapQuayDriver, type QuayMapping } from './quay-drivers.ts'
import { loadYaml, problemsOf } from './testing.ts'

function map(params: Record<string, unknown>): QuayMapping {
  const mapping = mapQuayDriver('SwiftStorage', params)
  if (typeof mapping === 'string') throw new Error(mapping)
  return mapping
}

describe('SwiftStorage', () => {
  it('maps the v1 auth (tempauth) with the temp URL key and storage path', () => {
    const m = map({ auth_version: 1, auth_url: 'http://swift:8080/auth/v1.0', swift_user: 'test:tester', swift_password: 'testing', swift_container: 'quay', storage_path: '/datastorage/registry', temp_url_key: 'k' })
    expect(m).toMatchObject({ driver: 'swift', ignored: [], notes: [] })
    expect(m.params).toEqual({ authVersion: 1, authUrl: 'http://swift:8080/auth/v1.0', user: 'test:tester', password: 'testing', container: 'quay', prefix: '/datastorage/registry', tempUrlKey: 'k' })
    expect(m.quayName('password')).toBe('swift_password')
  })

  it('maps Keystone v3 with os_options: project, domains, region, endpoint type, storage URL', () => {
    const m = map({
      auth_version: '3', auth_url: 'https://keystone:5000/v3', swift_user: 'quay', swift_password: 'pw', swift_container: 'quay', storage_path: '/r',
      os_options: { project_name: 'registry', user_domain_name: 'Users', project_domain_id: 'default', region_name: 'RegionTwo', endpoint_type: 'internalURL', object_storage_url: 'https://swift/v1/AUTH_p', auth_type: 'password' },
      ca_cert_path: '/conf/stack/extra_ca_certs/swift.pem', simple_path_concat: false, retry_count: 5,
    })
    expect(m.params).toEqual({
      authVersion: '3', authUrl: 'https://keystone:5000/v3', user: 'quay', password: 'pw', container: 'quay', prefix: '/r',
      projectName: 'registry', userDomainName: 'Users', projectDomainId: 'default', region: 'RegionTwo', interface: 'internal', storageUrl: 'https://swift/v1/AUTH_p',
    })
    expect(m.ignored).toEqual([])
    expect(m.notes).toEqual(['SwiftStorage: ca_cert_path is not read per location; give the origin process the CA with NODE_EXTRA_CA_CERTS=/conf/stack/extra_ca_certs/swift.pem'])
    expect(m.quayName('projectName')).toBe('os_options.project_name')
    expect(m.quayName('applicationCredentialSecret')).toBe('os_options.application_credential_secret')
  })

  it("maps Quay's default auth_version 2 (tenant names) to Keystone v3, and says so", () => {
    const m = map({ auth_url: 'https://keystone:5000/v2.0/', swift_user: 'u', swift_password: 'p', swift_container: 'c', os_options: { tenant_name: 't' } })
    expect(m.params).toMatchObject({ authVersion: 3, authUrl: 'https://keystone:5000/v3', projectName: 't' })
    expect(m.notes).toEqual([expect.stringMatching(/^SwiftStorage: auth_version 2 \(Keystone v2, Quay's default\) is mapped to Keystone v3/)])
  })

  it('maps an application credential, leaving the empty user and password out', () => {
    const m = map({ auth_version: 3, auth_url: 'https://k/v3', swift_user: '', swift_password: '', swift_container: 'c', os_options: { auth_type: 'v3applicationcredential', application_credential_id: 'id', application_credential_secret: 's' } })
    expect(m.params).toEqual({ authVersion: 3, authUrl: 'https://k/v3', container: 'c', applicationCredentialId: 'id', applicationCredentialSecret: 's' })
    expect(map({ os_options: { colour: 'red' }, flavour: 1 }).ignored).toEqual(['os_options.colour', 'flavour'])
  })

  it('loads from a Quay config.yaml, naming missing parameters by their Quay names', () => {
    const { config } = loadYaml(`
DISTRIBUTED_STORAGE_CONFIG:
  swift_eu: [SwiftStorage, { auth_version: 1, auth_url: 'http://swift:8080/auth/v1.0', swift_user: 'test:tester', swift_password: testing, swift_container: quay, storage_path: /registry, temp_url_key: k }]
DISTRIBUTED_STORAGE_PREFERENCE: [swift_eu]
MERIDIAN_LOCATIONS:
  swift_eu: { lat: 50, lon: 8, params: { segmentSize: 104857600 } }
`)
    expect(config.locations[0]).toMatchObject({
      driver: 'swift',
      params: { container: 'quay', authUrl: 'http://swift:8080/auth/v1.0', authVersion: 1, user: 'test:tester', password: 'testing', prefix: 'registry', tempUrlKey: 'k', segmentSize: 104_857_600 },
    })
    expect(problemsOf(() => loadYaml(`
DISTRIBUTED_STORAGE_CONFIG:
  swift: [SwiftStorage, { auth_version: 3, swift_container: c, swift_user: u }]
`))).toEqual([
      'DISTRIBUTED_STORAGE_CONFIG.swift[1].auth_url: required',
      'DISTRIBUTED_STORAGE_CONFIG.swift[1]: Keystone v3 needs exactly one of swift_password or os_options.application_credential_secret',
    ])
  })
})
