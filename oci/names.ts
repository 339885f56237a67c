// Repository names and references, by distribution-spec "Pulling manifests":
//   <name>      [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
//   <reference> a tag [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127} or a digest

import { ociError } from './errors.ts'
import { isDigest } from './digest.ts'

const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/
/** Spec: "many clients impose a limit of 255 characters on the length of the concatenation of
 * the registry hostname (and optional port), /, and <name>". We keep names within 255. */
export const MAX_NAME_LENGTH = 255

export function isValidName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME.test(name)
}

export function assertName(name: string): string {
  if (!isValidName(name)) throw ociError('NAME_INVALID', { detail: { name } })
  return name
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag)
}

export type Reference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: string }

/** A manifest reference: a digest when it contains ':', else a tag. */
export function parseReference(reference: string): Reference {
  if (reference.includes(':')) {
    if (!isDigest(reference)) throw ociError('DIGEST_INVALID', { message: 'invalid or unsupported digest', detail: { digest: reference } })
    return { kind: 'digest', digest: reference }
  }
  if (!isValidTag(reference)) throw ociError('MANIFEST_INVALID', { message: 'invalid tag', detail: { tag: reference } })
  return { kind: 'tag', tag: reference }
}

/** The namespace of a repository: its first path segment (`org` of `org/team/app`). */
export function namespaceOf(name: string): string {
  const slash = name.indexOf('/')
  return slash < 0 ? name : name.slice(0, slash)
}
