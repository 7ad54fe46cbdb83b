import { defineConfig } from 'drizzle-kit';

// Only used by `npm run db:generate`; the app applies the generated SQL itself at start-up.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/infra/db/schema.ts',
  out: './drizzle',
});
