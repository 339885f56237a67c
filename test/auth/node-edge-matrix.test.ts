// The auth matrix through a Node edge verifying tokens offline against the origin's JWKS (the
// integrator runs the same suite at the Bun, Deno and workerd edges: test/helpers/runtime-edge.ts).

import { startRedirectingOrigin, startTestEdge } from '../helpers/edge.ts'
import { defineAuthMatrix } from './matrix.ts'

defineAuthMatrix('edge on Node', async () => {
  const origin = await startRedirectingOrigin({ env: { MERIDIAN_AUTH: 'on' } })
  const edge = await startTestEdge(origin)
  return {
    origin, url: edge.url, settle: () => edge.settle(),
    close: async () => { await edge.close(); await origin.close() },
  }
})
