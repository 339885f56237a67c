// The pull suite against the origin itself: the reference every edge is compared with.

import { startTestOrigin } from '../helpers/origin.ts'
import { definePullSuite } from './pull-suite.ts'

definePullSuite('origin', async () => {
  const origin = await startTestOrigin()
  return { origin: origin.url, pull: origin.url, settle: async () => {}, close: () => origin.close() }
})
