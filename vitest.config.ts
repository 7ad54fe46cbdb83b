import { configDefaults, defineConfig } from 'vitest/config';

// The suite runs once per mode: embedded (PGlite, in-process drivers) always, and against
// PostgreSQL + Redis when TEST_DATABASE_URL and TEST_REDIS_URL say where they are.
const servicesConfigured = Boolean(process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL);
// Vitest evaluates this file more than once per run; say it once.
if (!servicesConfigured && !process.env.TEST_MODE_NOTICE_SHOWN) {
  process.env.TEST_MODE_NOTICE_SHOWN = '1';
  console.log(
    '[test mode] TEST_DATABASE_URL/TEST_REDIS_URL not set: running the embedded mode only (PostgreSQL + Redis mode NOT run)',
  );
}

const modes = servicesConfigured ? (['embedded', 'services'] as const) : (['embedded'] as const);

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 60_000,
    /*
     * Test files run in parallel, each in a process of its own. Vitest's default (one worker per core
     * but one) runs them one after another on a 2-core machine, while most of a file's time is spent
     * waiting: on the fake model's delays, on processes it started, on PostgreSQL and Redis. Four
     * files at a time keep two cores busy. TEST_MAX_WORKERS overrides it.
     */
    maxWorkers: Number(process.env.TEST_MAX_WORKERS ?? 4),
    projects: [
      // The unit tier (test/unit): pure logic and services over in-memory fakes, the same in every mode, so it runs once.
      // Each project names its files: a root `include` would be added to a project's, not replaced.
      // Unit files keep no state between them (each restores its mocks and timers), so they share one module
      // graph instead of importing zod, Fastify and the rest again per file: a third of the time.
      { extends: true as const, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], isolate: false } },
      ...modes.map((mode) => ({
        extends: true as const,
        test: {
          name: mode,
          env: { TEST_MODE: mode },
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/unit/**'],
          // Embedded databases start from a migrated template made once (test/helpers/mode.ts).
          globalSetup: mode === 'embedded' ? ['test/setup/pglite-template.ts'] : [],
        },
      })),
    ],
  },
});
