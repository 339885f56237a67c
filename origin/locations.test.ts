import { describe, expect, it } from 'vitest'
import { createMemoryEngine } from '../storage/drivers/memory.ts'
import { StorageError, type StorageEngine } from '../storage/engine.ts'
import type { LocationConfig } from './config/types.ts'
import { createLocationSet } from './locations.ts'

const config = (id: string): LocationConfig => ({ id, driver: 'memory', params: {}, lat: 0, lon: 0, replicateByDefault: false, serve: 'proxy', readOnly: false })

/** A memory engine whose writes an object store refuses (HTTP 403) while `refuse.on` is set. */
function refusingWrites(location: string, refuse: { on: boolean }): StorageEngine {
  const engine = createMemoryEngine({ location })
  return {
    ...engine,
    put: (key, body, options) => {
      if (!refuse.on) return engine.put(key, body, options)
      return Promise.reject(Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }))
    },
  }
}

/** A memory engine behind a credential that may write only under `prefixes` (an S3 IAM policy). */
function scopedWrites(location: string, prefixes: string[]): StorageEngine {
  const engine = createMemoryEngine({ location })
  return {
    ...engine,
    put: (key, body, options) => {
      if (prefixes.some((p) => key.startsWith(p))) return engine.put(key, body, options)
      return Promise.reject(Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }))
    },
  }
}

function setup() {
  let clock = 1_000_000
  const refuse = { on: false }
  const engines = new Map<string, StorageEngine>()
  const locations = createLocationSet([config('a'), config('b')], ['a', 'b'], {
    now: () => clock,
    downSeconds: 15,
    createEngine: (c) => { const e = c.id === 'a' ? refusingWrites('a', refuse) : createMemoryEngine({ location: c.id }); engines.set(c.id, e); return e },
  })
  return { locations, refuse, engines, tick: (ms: number) => { clock += ms } }
}

describe('location health', () => {
  it('probes by writing and deleting an object, leaving nothing behind', async () => {
    const { locations, engines } = setup()
    expect(await locations.probe('a')).toBe(true)
    expect((await engines.get('a')!.list('')).keys).toEqual([])
  })

  it('passes the write probe with a credential scoped to blobs/ and uploads/', async () => {
    const locations = createLocationSet([config('a')], ['a'], { createEngine: (c) => scopedWrites(c.id, ['blobs/', 'uploads/']) })
    expect(await locations.probe('a')).toBe(true)
    expect(locations.isWritable('a')).toBe(true)
  })

  it('marks a location that refuses writes (403) down for writes only, and tries it again later', async () => {
    const { locations, refuse, tick } = setup()
    refuse.on = true
    expect(await locations.probe('a')).toBe(false)
    expect(locations.isWritable('a')).toBe(false)
    expect(locations.isHealthy('a')).toBe(true)
    expect(locations.writeOrder().map((l) => l.id)).toEqual(['b', 'a'])
    expect(locations.preferenceOrder().map((l) => l.id)).toEqual(['a', 'b'])
    refuse.on = false
    tick(16_000)
    expect(await locations.probe('a')).toBe(true)
    expect(locations.writeOrder().map((l) => l.id)).toEqual(['a', 'b'])
  })

  it('takes a denied write as the location\'s state, a read failure as down for reads too, and ignores the caller\'s failures', () => {
    const { locations } = setup()
    locations.markDown('a', new StorageError('invalid', 'a', 'bad range'), 'read')
    locations.markDown('a', new StorageError('aborted', 'a', 'client went away'), 'write')
    expect(locations.isWritable('a')).toBe(true)
    locations.markDown('a', new StorageError('denied', 'a', 'EROFS'), 'write')
    expect([locations.isHealthy('a'), locations.isWritable('a')]).toEqual([true, false])
    locations.markDown('b', new StorageError('denied', 'b', 'EACCES'), 'read')
    expect([locations.isHealthy('b'), locations.isWritable('b')]).toEqual([false, false])
  })
})
