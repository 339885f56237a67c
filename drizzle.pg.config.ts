import { defineConfig } from 'drizzle-kit'

// PostgreSQL's migrations, from the mirror of db/schema.ts (README "Changing the schema").
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema-pg.ts',
  out: './db/migrations-pg',
})
