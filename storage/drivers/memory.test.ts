import { testEngine } from '../conformance.ts'
import { guardEngine } from '../guard.ts'
import { createMemoryEngine } from './memory.ts'

testEngine('memory', async () => ({ engine: createMemoryEngine({ location: 'test-memory' }) }))

// The guard must be transparent: the same contract holds through it.
testEngine('memory behind guardEngine', async () => ({ engine: guardEngine(createMemoryEngine({ location: 'test-memory' })) }))
