import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openTestDatabase, type TestDatabase } from '../../test/helpers/test-database.ts'
import { ensureRepository } from './repositories.ts'
import { createUploadIn, findSession, findUpload } from './uploads.ts'

let t: TestDatabase
beforeEach(async () => { t = await openTestDatabase('meridian-uploads-') })
afterEach(async () => { await t.close() })

describe('upload session rows', () => {
  it('opens a session in an existing repository in one statement, and none in a missing one', async () => {
    expect(await createUploadIn(t.db, { id: crypto.randomUUID(), repository: 'no/such', location: 'eu' })).toBeNull()
    const repo = await ensureRepository(t.db, 'a/b')
    const id = crypto.randomUUID()
    const opened = await createUploadIn(t.db, { id, repository: 'a/b', location: 'eu', now: 2 ** 41 })
    expect(opened).toEqual({ id, repositoryId: repo.id, location: 'eu', offset: 0, parts: 0, partNonces: '[]', createdAt: 2 ** 41, updatedAt: 2 ** 41 })
    expect(await findUpload(t.db, id)).toEqual(opened)
  })

  it('finds a session only through the repository it belongs to', async () => {
    await ensureRepository(t.db, 'a/b')
    await ensureRepository(t.db, 'a/c')
    const id = crypto.randomUUID()
    const opened = await createUploadIn(t.db, { id, repository: 'a/b', location: 'eu' })
    expect(await findSession(t.db, 'a/b', id)).toEqual(opened)
    expect(await findSession(t.db, 'a/c', id)).toBeNull()
    expect(await findSession(t.db, 'a/b', crypto.randomUUID())).toBeNull()
  })
})
