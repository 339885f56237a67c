import { describe, expect, it } from 'vitest'
import { verifyingStream } from '../oci/digest.ts'
import { OciError } from '../oci/errors.ts'
import { createPortableHasher } from '../oci/hasher-portable.ts'
import { StorageError } from './engine.ts'
import type { StorageEngine } from './engine.ts'
import { createMemoryEngine } from './drivers/memory.ts'
import { classifyError, redact } from './errors.ts'
import { assertKey, assertPrefix, guardEngine } from './guard.ts'
import type { OperationEvent } from './guard.ts'
import { blobKey, uploadPartKey } from './keys.ts'

const body = (text: string) => new Blob([text]).stream()

/** An engine whose every call fails with `err`: stands in for a driver that leaks raw errors. */
function failingEngine(err: unknown, calls: string[] = []): StorageEngine {
  const fail = async (name: string): Promise<never> => {
    calls.push(name)
    throw err
  }
  return {
    location: 'eu-west',
    driver: 'leaky',
    stat: () => fail('stat'),
    get: () => fail('get'),
    put: () => fail('put'),
    delete: () => fail('delete'),
    list: () => fail('list'),
  }
}

describe('assertKey', () => {
  it('accepts the keys of the object layout', () => {
    assertKey(blobKey(`sha256:${'ab'.repeat(32)}`))
    assertKey(uploadPartKey('0f2b4f4e-7d2a-4c8e-9a52-3a7f0f3a1b2c', 3, '9c0ffee1'))
    assertKey(uploadPartKey('0f2b4f4e-7d2a-4c8e-9a52-3a7f0f3a1b2c', 3, ''))
    assertKey('a/.hidden/b..c/-_.x')
  })

  it.each([
    '', '/abs', '..', '.', 'a/../b', 'a/./b', 'a//b', 'a/', 'a\\b', 'a\0b', 'a b', 'caf\u00e9', 'a?b', 'x'.repeat(1025),
  ])('rejects %j with StorageError invalid', (key) => {
    expect(() => assertKey(key, 'loc')).toThrow(StorageError)
    expect(() => assertKey(key, 'loc')).toThrow(expect.objectContaining({ kind: 'invalid', location: 'loc' }))
  })

  it('lets a list prefix be empty or end mid-segment, but not escape', () => {
    for (const prefix of ['', 'blobs/', 'blobs/sha256/ab', 'uploads/..x']) assertPrefix(prefix)
    for (const prefix of ['../', 'a/../', '/blobs', 'a//']) expect(() => assertPrefix(prefix), prefix).toThrow(StorageError)
  })
})

describe('guardEngine', () => {
  it('stops a bad key before the driver sees it', async () => {
    const calls: string[] = []
    const engine = guardEngine(failingEngine(new Error('unreachable'), calls))
    await expect(engine.get('../etc/passwd')).rejects.toMatchObject({ kind: 'invalid' })
    await expect(engine.put('a//b', body('x'))).rejects.toMatchObject({ kind: 'invalid' })
    await expect(engine.list('/')).rejects.toMatchObject({ kind: 'invalid' })
    await expect(engine.get('ok', { range: { start: 5, end: 2 } })).rejects.toMatchObject({ kind: 'invalid' })
    expect(calls).toEqual([])
  })

  it('turns a refused connection into an unavailable location', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' })
    const failure = await guardEngine(failingEngine(refused)).stat('blobs/x').catch((err: unknown) => err)
    expect(failure).toBeInstanceOf(StorageError)
    expect(failure).toMatchObject({ kind: 'unavailable', location: 'eu-west', retryable: true })
    expect((failure as Error).message).toMatch(/eu-west: stat blobs\/x: connect ECONNREFUSED/)
  })

  it('turns a 403 into denied and scrubs credentials from message and cause', async () => {
    const sdkError = Object.assign(
      new Error('Access Denied for https://bucket.s3.amazonaws.com/k?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20250101&X-Amz-Signature=deadbeef'),
      { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } },
    )
    const failure = await guardEngine(failingEngine(sdkError)).list('').then(() => null, (err: unknown) => err) as StorageError
    expect(failure).toMatchObject({ kind: 'denied', retryable: false })
    const everything = `${failure.message}\n${(failure.cause as Error).message}\n${(failure.cause as Error).stack}`
    expect(everything).not.toMatch(/AKIAIOSFODNN7EXAMPLE|deadbeef/)
  })

  it("rethrows the caller's body error unchanged, whatever the driver made of it", async () => {
    const wrapping: StorageEngine = {
      ...createMemoryEngine({ location: 'mem' }),
      async put(_key, stream) {
        try {
          await new Response(stream).arrayBuffer()
        } catch (err) {
          throw new Error(`upload failed: ${String(err)}`)
        }
        throw new Error('unreachable')
      },
    }
    const wrong = verifyingStream({ digest: `sha256:${'0'.repeat(64)}` }, createPortableHasher)
    const failure = await guardEngine(wrapping).put('blobs/x', body('hello').pipeThrough(wrong)).catch((err: unknown) => err)
    expect(failure).toBeInstanceOf(OciError)
    expect(failure).toMatchObject({ code: 'DIGEST_INVALID' })
  })

  it('reports every operation to the observer', async () => {
    const events: OperationEvent[] = []
    const engine = guardEngine(createMemoryEngine({ location: 'mem' }), { observe: (event) => events.push(event) })
    await engine.put('a', body('x'))
    await engine.stat('missing')
    await engine.get('../bad').catch(() => {})
    expect(events.map((e) => [e.operation, e.outcome])).toEqual([['put', 'ok'], ['stat', 'missing'], ['get', 'invalid']])
    expect(events.every((e) => e.location === 'mem' && e.driver === 'memory' && e.ms >= 0)).toBe(true)
  })
})

describe('classifyError', () => {
  it.each([
    [Object.assign(new Error('x'), { code: 'ETIMEDOUT' }), 'unavailable'],
    [Object.assign(new Error('x'), { name: 'TimeoutError' }), 'unavailable'],
    [new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }), 'unavailable'],
    [Object.assign(new Error('x'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }), 'unavailable'],
    [Object.assign(new Error('x'), { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }), 'unavailable'],
    [Object.assign(new Error('x'), { code: 'ENOSPC' }), 'unavailable'],
    [Object.assign(new Error('x'), { code: 'EACCES' }), 'denied'],
    [Object.assign(new Error('x'), { $metadata: { httpStatusCode: 401 } }), 'denied'],
    [Object.assign(new Error('x'), { $metadata: { httpStatusCode: 412 } }), 'conflict'],
    [Object.assign(new Error('x'), { name: 'InvalidRange', $metadata: { httpStatusCode: 416 } }), 'invalid'],
    [new DOMException('stop', 'AbortError'), 'aborted'],
    [new Error('mystery'), 'unknown'],
    ['a string', 'unknown'],
  ])('classifies %o as %s', (err, kind) => {
    expect(classifyError(err)).toBe(kind)
  })
})

describe('redact', () => {
  it('removes signatures, user-info, access key ids and Authorization values', () => {
    const text = 'GET https://user:pa55@host/b?sig=abc&X-Amz-Signature=f00 Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/x'
    const clean = redact(text)
    expect(clean).not.toMatch(/pa55|sig=abc|f00|AKIAIOSFODNN7EXAMPLE/)
    expect(clean).toContain('https://<redacted>@host/b')
    expect(redact('login with hunter22 failed', ['hunter22'])).toBe('login with <redacted> failed')
  })
})
