// The pull suite against a Node edge following the origin through its own region index.

import { startRedirectingOrigin, startTestEdge } from '../helpers/edge.ts'
import { definePullSuite } from './pull-suite.ts'

definePullSuite('edge on Node', async () => {
  const origin = await startRedirectingOrigin()
  const edge = await startTestEdge(origin)
  return {
    origin: origin.url, pull: edge.url,
    settle: () => edge.settle(),
    close: async () => {
      await edge.close()
      await origin.close()
    },
  }
})
