// The auth matrix against the origin itself: the reference every edge is compared with.

import { startTestOrigin } from '../helpers/origin.ts'
import { defineAuthMatrix } from './matrix.ts'

defineAuthMatrix('origin', async () => {
  const origin = await startTestOrigin({ env: { MERIDIAN_AUTH: 'on' } })
  return { origin, url: origin.url, settle: async () => {}, close: () => origin.close() }
})
