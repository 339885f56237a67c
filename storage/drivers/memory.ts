// An engine that keeps objects in a Map: for tests and demos, never for real data (it holds each
// object whole, which ARCHITECTURE §4.7 forbids anywhere else). Portable, and it behaves like the
// real drivers down to the errors, so tests written against it hold against them.

import { StorageError } from '../engine.ts'
import type { GetResult, ListPage, ObjectInfo, PutOptions, StorageEngine } from '../engine.ts'
import { BodyReader } from '../body-reader.ts'
import { concatBytes } from '../../oci/bytes.ts'
import { assertKey, assertPrefix, listLimit, resolveRange } from '../guard.ts'

export interface MemoryEngineOptions {
  location: string
}

interface StoredObject {
  /** Never mutated after the put that made it, so copies may share it. */
  bytes: Uint8Array
  modified: Date
}

/** Chunk size of get bodies, so consumers see a stream, not one block. */
const CHUNK = 64 * 1024

export function createMemoryEngine({ location }: MemoryEngineOptions): StorageEngine {
  const objects = new Map<string, StoredObject>()

  function info(key: string, object: StoredObject): ObjectInfo {
    return { key, size: object.bytes.byteLength, modified: object.modified }
  }

  return {
    location,
    driver: 'memory',

    async stat(key) {
      assertKey(key, location)
      const object = objects.get(key)
      return object ? info(key, object) : null
    },

    async get(key, options = {}): Promise<GetResult | null> {
      assertKey(key, location)
      const object = objects.get(key)
      if (!object) return null
      const size = object.bytes.byteLength
      const range = resolveRange(options.range, size, location, key)
      const { signal } = options
      let position = range?.start ?? 0
      const end = range ? range.end + 1 : size
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (signal?.aborted) throw new StorageError('aborted', location, `get ${key} aborted`, { cause: signal.reason })
          if (position >= end) return controller.close()
          const next = Math.min(end, position + CHUNK)
          // A copy: the consumer may write into the chunk it was given.
          controller.enqueue(object.bytes.slice(position, next))
          position = next
        },
      })
      return range ? { body, size, range } : { body, size }
    },

    async put(key, stream, options: PutOptions = {}) {
      assertKey(key, location)
      const body = new BodyReader(stream, { location, key, size: options.size, signal: options.signal })
      const chunks: Uint8Array[] = []
      try {
        for (let chunk = await body.next(); chunk !== null; chunk = await body.next()) chunks.push(chunk)
      } catch (err) {
        throw body.failure(err)
      }
      // Joined into a fresh buffer only once the body has ended: the swap below is the atomic step.
      const object = { bytes: concatBytes(chunks, body.bytes), modified: new Date() }
      objects.set(key, object)
      return info(key, object)
    },

    async delete(key) {
      assertKey(key, location)
      objects.delete(key)
    },

    async list(prefix, options = {}): Promise<ListPage> {
      assertPrefix(prefix, location)
      const limit = listLimit(options.limit)
      const { cursor } = options
      const keys = [...objects.keys()]
        .filter((key) => key.startsWith(prefix) && (cursor === undefined || key > cursor))
        .sort()
      const page = keys.slice(0, limit)
      return {
        keys: page.map((key) => info(key, objects.get(key)!)),
        cursor: keys.length > limit ? page[page.length - 1] : null,
      }
    },

    async copy(fromKey, toKey) {
      assertKey(fromKey, location)
      assertKey(toKey, location)
      const object = objects.get(fromKey)
      if (!object) return null
      const copied = { bytes: object.bytes, modified: new Date() }
      objects.set(toKey, copied)
      return info(toKey, copied)
    },
  }
}
