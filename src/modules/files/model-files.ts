import type { Readable } from 'node:stream';
import type { Database } from '../../infra/db/client.js';
import type { FileStore } from '../../infra/file-store/file-store.js';
import type { ModelFile } from '../../integrations/gemini/model.js';
import { rememberGeminiCopy } from './file.repository.js';

/** A file a turn of the conversation carries, as the reply's claim reads it (no bytes). */
export interface TurnFile {
  id: string;
  name: string;
  mimeType: string;
  sizeBytes: number;
  /** What it costs in the model's context (estimated at upload). */
  tokens: number;
  storageKey: string;
  deleted: boolean;
  geminiUri: string | null;
  geminiExpiresAt: string | null;
}

/** What a deleted file costs in the context: the one-line note the model gets in its place. */
export const DELETED_FILE_NOTE_TOKENS = 30;

export const tokensOf = (file: TurnFile) => (file.deleted ? DELETED_FILE_NOTE_TOKENS : file.tokens);

async function readWhole(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The files of a turn as the model reads them: bytes from the file store on demand (only when the
 * model sends them inline or uploads them), and the copy in Gemini's Files API remembered on the row.
 */
export function createModelFiles({ store, database }: { store: FileStore; database: Pick<Database, 'db'> }) {
  return {
    toModelFile(file: TurnFile): ModelFile {
      const { name, mimeType, sizeBytes } = file;
      if (file.deleted) return { name, mimeType, sizeBytes, content: null };
      return {
        name,
        mimeType,
        sizeBytes,
        content: {
          bytes: async () => readWhole(await store.read(file.storageKey)),
          blob: () => store.blob(file.storageKey, mimeType),
          remote:
            file.geminiUri && file.geminiExpiresAt ? { uri: file.geminiUri, mimeType, expiresAt: new Date(file.geminiExpiresAt) } : null,
          rememberRemote: (remote) => rememberGeminiCopy(database.db, file.id, remote && { uri: remote.uri, expiresAt: remote.expiresAt }),
        },
      };
    },
  };
}

export type ModelFiles = ReturnType<typeof createModelFiles>;
