import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface ScratchDatabase {
  /** The new database's URL (the admin URL with its name). */
  url: string;
  drop(): Promise<void>;
}

/**
 * An empty PostgreSQL database of its own beside the one `adminUrl` names, dropped by `drop`: for a
 * test file, a process under test or a benchmark run (no vitest here, so the benchmark can use it).
 */
export async function createScratchDatabase(adminUrl: string, namePrefix: string): Promise<ScratchDatabase> {
  const name = `${namePrefix}${randomBytes(6).toString('hex')}`;
  const run = async (statement: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await run(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`drop database if exists ${name} with (force)`) };
}
