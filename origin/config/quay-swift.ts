// Quay's SwiftStorage (storage/swift.py: a python-swiftclient Connection) mapped to the swift
// driver's parameters (origin/config/swift-params.ts). Quay hands `swift_user`/`swift_password`
// to swiftclient as user and key, and `os_options` (project, domains, region, endpoint type,
// storage URL, application credential) as they are; this file renames, drivers.ts validates.

import { isAbsent, isMap, type YamlMap } from './read-values.ts'

/** quay-drivers.ts's QuayMapping, for the swift driver (restated here: that file imports this one). */
export interface QuaySwiftMapping {
  driver: 'swift'
  params: YamlMap
  quayName: (param: string) => string
  ignored: string[]
  missing: string[]
  notes: string[]
}

const NAMES: [string, string][] = [
  ['swift_container', 'container'], ['storage_path', 'prefix'], ['auth_url', 'authUrl'],
  ['swift_user', 'user'], ['swift_password', 'password'], ['auth_version', 'authVersion'], ['temp_url_key', 'tempUrlKey'],
]

// swiftclient's os_options keys (its shell's --os-* options); Keystone v2 names (tenant_*) too.
const OS_OPTION_NAMES: [string, string][] = [
  ['project_name', 'projectName'], ['tenant_name', 'projectName'], ['project_id', 'projectId'], ['tenant_id', 'projectId'],
  ['user_id', 'userId'], ['user_domain_name', 'userDomainName'], ['user_domain_id', 'userDomainId'],
  ['project_domain_name', 'projectDomainName'], ['project_domain_id', 'projectDomainId'],
  ['region_name', 'region'], ['endpoint_type', 'interface'], ['object_storage_url', 'storageUrl'],
  ['application_credential_id', 'applicationCredentialId'], ['application_credential_name', 'applicationCredentialName'],
  ['application_credential_secret', 'applicationCredentialSecret'],
]

/** Quay connection knobs that mean nothing here (swiftclient's timeouts and retries). */
const TUNING = ['simple_path_concat', 'connect_timeout', 'retry_count', 'retry_on_ratelimit']
/** os_options that swiftclient uses and the driver infers: the v3 auth type, the catalog service type. */
const OS_INFERRED = ['auth_type', 'service_type']

export function mapQuaySwift(quayParams: YamlMap): QuaySwiftMapping {
  const params: YamlMap = {}
  const used = new Map<string, string>()
  const ignored: string[] = []
  const notes: string[] = []
  const take = (quayKey: string, value: unknown, target: string | undefined) => {
    if (target === undefined) return void ignored.push(quayKey)
    if (isAbsent(value) || value === '') return
    if (used.has(target)) return void ignored.push(quayKey)
    params[target] = value
    used.set(target, quayKey)
  }
  const names = new Map(NAMES)
  const osNames = new Map(OS_OPTION_NAMES)
  for (const [key, value] of Object.entries(quayParams)) {
    if (TUNING.includes(key)) continue
    if (key === 'ca_cert_path') {
      if (!isAbsent(value) && value !== '') notes.push(`SwiftStorage: ca_cert_path is not read per location; give the origin process the CA with NODE_EXTRA_CA_CERTS=${String(value)}`)
      continue
    }
    if (key === 'os_options') {
      if (isAbsent(value)) continue
      if (!isMap(value)) {
        ignored.push(key)
        continue
      }
      for (const [option, optionValue] of Object.entries(value)) {
        if (!OS_INFERRED.includes(option)) take(`os_options.${option}`, optionValue, osNames.get(option))
      }
      continue
    }
    take(key, value, names.get(key))
  }

  // Quay defaults to auth_version 2; Keystone dropped the v2 API (Queens, 2018), and its users
  // and projects answer the same names on v3 (in the Default domain unless os_options say).
  const version = params.authVersion === undefined ? 2 : Number(params.authVersion)
  if (version === 2) {
    params.authVersion = 3
    if (typeof params.authUrl === 'string') params.authUrl = params.authUrl.replace(/\/v2\.0\/?$/, '/v3')
    notes.push('SwiftStorage: auth_version 2 (Keystone v2, Quay\'s default) is mapped to Keystone v3 with the same user and project, /v2.0 in auth_url replaced by /v3')
  }
  // python-swiftclient and Keystone spell the interface publicURL (v2 catalog) or public (v3).
  if (typeof params.interface === 'string') params.interface = params.interface.replace(/URL$/, '')
  // Keystone v3 identifies a user by name or id; with an application credential, swift_user and
  // swift_password are usually left empty.
  if (params.applicationCredentialSecret !== undefined && params.password !== undefined) {
    ignored.push(used.get('password')!)
    delete params.password
  }

  const quayName = (param: string) => used.get(param) ?? NAMES.find(([, t]) => t === param)?.[0] ?? `os_options.${OS_OPTION_NAMES.find(([, t]) => t === param)?.[0] ?? param}`
  return { driver: 'swift', params, quayName, ignored, missing: [], notes }
}
