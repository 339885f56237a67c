// The edge's own view of which locations answer: a location whose fetch failed is skipped for a
// cool-down, then tried again (a location that is down is a location, not lost data). Each edge
// keeps its own view: the network between this edge and a storage host is what matters here.

export interface LocationHealth {
  isUp(id: string): boolean
  markDown(id: string): void
  markUp(id: string): void
  /** Ids marked down now, with the time (ms) they are tried again. */
  down(): Array<{ id: string; until: number }>
}

export function createLocationHealth(options: { coolDownMs?: number; now?: () => number } = {}): LocationHealth {
  const { coolDownMs = 15_000, now = Date.now } = options
  const downUntil = new Map<string, number>()
  return {
    isUp(id) {
      const until = downUntil.get(id)
      if (until === undefined) return true
      if (now() >= until) {
        downUntil.delete(id)
        return true
      }
      return false
    },
    markDown(id) {
      downUntil.set(id, now() + coolDownMs)
    },
    markUp(id) {
      downUntil.delete(id)
    },
    down() {
      const t = now()
      return [...downUntil].filter(([, until]) => until > t).map(([id, until]) => ({ id, until }))
    },
  }
}
