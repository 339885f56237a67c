// The auth matrix (test/auth/matrix.ts) at the edge in every other runtime: Bun, Deno and workerd
// (`wrangler dev`), each verifying tokens offline against the origin's JWKS, each in front of its
// own origin with access control on. The origin and the Node edge run it in test/auth/.

import { describe } from 'vitest'
import { startRedirectingOrigin } from '../helpers/edge.ts'
import { runtimeTestsEnabled, startRuntimeEdge, type EdgeRuntimeName } from '../helpers/runtime-edge.ts'
import { defineAuthMatrix } from '../auth/matrix.ts'

describe.skipIf(!runtimeTestsEnabled)('auth matrix at the edge in Bun, Deno and workerd (MERIDIAN_EDGE_RUNTIMES=0 skips)', () => {
  for (const runtime of ['bun', 'deno', 'workerd'] satisfies EdgeRuntimeName[]) {
    defineAuthMatrix(`edge on ${runtime}`, async () => {
      const token = `edge-token-${crypto.randomUUID()}`
      const origin = await startRedirectingOrigin({ env: { MERIDIAN_AUTH: 'on', MERIDIAN_EDGE_TOKEN: token } })
      try {
        const edge = await startRuntimeEdge(runtime, origin, { token })
        return { origin, url: edge.url, settle: () => edge.settle(), close: async () => { await edge.close(); await origin.close() } }
      } catch (err) {
        await origin.close()
        throw err
      }
    })
  }
})
