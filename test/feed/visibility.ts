// Making a repository public or private at the origin for the feed tests, the way
// setRepositoryPublic (db/queries/visibility.ts, the token server's queries) does it: the row in
// public_repositories and a 'repository.visibility' change in one transaction. Written against the
// table until that module is on this branch.

import type { Db } from '../../db/client.ts'

export function setVisibility(db: Db, repository: string, isPublic: boolean): void {
  const now = Date.now()
  db.$client.transaction(() => {
    if (isPublic) db.$client.prepare('INSERT OR IGNORE INTO public_repositories (repository, created_at) VALUES (?, ?)').run(repository, now)
    else db.$client.prepare('DELETE FROM public_repositories WHERE repository = ?').run(repository)
    db.$client.prepare('INSERT INTO changes (kind, repository, payload, at) VALUES (?, ?, ?, ?)')
      .run('repository.visibility', repository, JSON.stringify({ public: isPublic }), now)
  })()
}
