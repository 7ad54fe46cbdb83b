import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DatabaseOptions } from '../../src/infra/db/client.js';

/** Set per vitest project (vitest.config.ts): the same suite runs embedded and against real servers. */
export const testMode: 'embedded' | 'services' = process.env.TEST_MODE === 'services' ? 'services' : 'embedded';

export interface TestBackends {
  database: DatabaseOptions;
  env: Record<string, string>;
  redisKeyPrefix?: string;
  dispose(): Promise<void>;
}

function databaseUrlWithName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/**
 * Embedded: PGlite in memory, in-process drivers. Services: a fresh PostgreSQL database of its own
 * (dropped afterwards) and a Redis key prefix of its own, so test files can run in parallel.
 */
export async function provisionBackends(): Promise<TestBackends> {
  if (testMode === 'embedded') {
    return { database: { kind: 'pglite' }, env: {}, dispose: () => Promise.resolve() };
  }
  const adminUrl = process.env.TEST_DATABASE_URL;
  const redisUrl = process.env.TEST_REDIS_URL;
  if (!adminUrl || !redisUrl) throw new Error('TEST_MODE=services needs TEST_DATABASE_URL and TEST_REDIS_URL');
  const suffix = randomBytes(6).toString('hex');
  const name = `gc_test_${suffix}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = databaseUrlWithName(adminUrl, name);
  return {
    database: { kind: 'postgres', url, poolSize: 5 },
    env: { DATABASE_URL: url, REDIS_URL: redisUrl },
    redisKeyPrefix: `test:${suffix}:`,
    async dispose() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}
