import { describe, expect, it } from 'vitest'
import { distanceKm, nearestFirst } from './distance.ts'

const dublin = { lat: 53.3, lon: -6.3 }
const virginia = { lat: 39.0, lon: -77.5 }
const mumbai = { lat: 19.1, lon: 72.9 }

describe('distance', () => {
  it('measures Dublin to Virginia at about 5,500 km', () => {
    expect(distanceKm(dublin, virginia)).toBeGreaterThan(5300)
    expect(distanceKm(dublin, virginia)).toBeLessThan(5700)
  })

  it('is zero from a point to itself and symmetric', () => {
    expect(distanceKm(mumbai, mumbai)).toBe(0)
    expect(distanceKm(dublin, mumbai)).toBeCloseTo(distanceKm(mumbai, dublin), 6)
  })

  it('orders locations nearest first from London', () => {
    const london = { lat: 51.5, lon: -0.1 }
    const ordered = nearestFirst(london, [{ id: 'us', ...virginia }, { id: 'ap', ...mumbai }, { id: 'eu', ...dublin }])
    expect(ordered.map((l) => l.id)).toEqual(['eu', 'us', 'ap'])
  })
})
