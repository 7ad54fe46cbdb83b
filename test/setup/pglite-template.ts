import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import type { TestProject } from 'vitest/node';
import { migrationsFolder } from '../../src/infra/db/migrations.js';
import { pgliteExtensions } from '../../src/infra/db/pglite-extensions.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A migrated PGlite data directory (a `dumpDataDir` tarball) that every embedded database starts from. */
    pgliteTemplatePath: string;
  }
}

/**
 * Vitest global setup of the embedded project. A new PGlite cluster costs seconds of CPU (initdb);
 * loading a dumped one costs a fraction. The migrated database is dumped once, kept in the temporary
 * directory under a name derived from the migrations and the PGlite version (a changed migration
 * makes a new one), and every test file's databases are loaded from it.
 */
export default async function setup(project: TestProject): Promise<void> {
  const path = join(tmpdir(), `gemini-chat-test-pglite-${templateKey()}.tar`);
  if (!existsSync(path)) {
    const client = new PGlite({ extensions: await pgliteExtensions() });
    try {
      await migrate(drizzle(client), { migrationsFolder });
      const dump = await client.dumpDataDir('none');
      // Written under a name of its own, then renamed: a run beside this one never reads half a file.
      const partial = `${path}.${process.pid}.partial`;
      writeFileSync(partial, new Uint8Array(await dump.arrayBuffer()));
      renameSync(partial, path);
    } finally {
      await client.close();
    }
  }
  project.provide('pgliteTemplatePath', path);
}

function templateKey(): string {
  const hash = createHash('sha256');
  // The package does not export its package.json: it is beside the folder of its entry point.
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  hash.update(readFileSync(join(dirname(entry), '../package.json')));
  for (const folder of [migrationsFolder, join(migrationsFolder, 'meta')]) {
    for (const entry of readdirSync(folder, { withFileTypes: true }).filter((e) => e.isFile()).sort((a, b) => a.name.localeCompare(b.name))) {
      hash.update(entry.name).update(readFileSync(join(folder, entry.name)));
    }
  }
  return hash.digest('hex').slice(0, 16);
}
