import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { eq } from 'drizzle-orm';
import type { Database } from '../../infra/db/client.js';
import { installationFacts } from '../../infra/db/schema.js';
import { FileObjectMissing, type FileStore } from '../../infra/file-store/file-store.js';

/** Where the store keeps the identity it shares with the database (ids only, like every key). */
const MARKER_KEY = 'installation/file-store-identity';
const FACT_KEY = 'file-store-identity';
/** A process that started at the same moment may be writing the marker: it gets this long. */
const FIRST_START_GRACE_MS = 5_000;

/** This process's file store is not the one the other processes of the installation use. */
export class FileStoreLayoutError extends Error {
  override name = 'FileStoreLayoutError';
}

async function markerIn(store: FileStore): Promise<string | undefined> {
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of await store.read(MARKER_KEY)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    if (error instanceof FileObjectMissing) return undefined;
    throw error;
  }
}

/**
 * Refuses to start a process whose file store is not the installation's: processes that share a
 * database must share the bytes too (an upload taken by one api is read by the worker and by every
 * other api). The first process writes an identity to the store and to the database; every later one
 * finds the same identity in both, or stops with what to do. This is what turns "the `fs` store on
 * two hosts" from files that silently go missing into a process that refuses to start.
 */
export async function assertInstallationFileStore(database: Pick<Database, 'db'>, store: FileStore, describeStore: string): Promise<void> {
  const { db } = database;
  const candidate = randomUUID();
  await db.insert(installationFacts).values({ key: FACT_KEY, value: candidate }).onConflictDoNothing();
  const [fact] = await db.select().from(installationFacts).where(eq(installationFacts.key, FACT_KEY));
  const identity = fact?.value ?? candidate;
  if (identity === candidate) {
    await store.put(MARKER_KEY, Readable.from([Buffer.from(identity)]), 'text/plain');
    return;
  }
  for (const started = Date.now(); ; await sleep(250)) {
    const marker = await markerIn(store);
    if (marker === identity) return;
    if (marker !== undefined || Date.now() - started > FIRST_START_GRACE_MS) {
      throw new FileStoreLayoutError(
        `The file store (${describeStore}) is not the one the other processes of this installation use: ` +
          `uploads taken by one process would be missing in another. Processes on different hosts need a shared store: ` +
          `set FILE_STORE=s3 (README "Files"), or give every process the same DATA_DIR. If this store was replaced on purpose, ` +
          `delete the row '${FACT_KEY}' from installation_facts and start again.`,
      );
    }
  }
}
