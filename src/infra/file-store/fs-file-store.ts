import { randomUUID } from 'node:crypto';
import { constants, createWriteStream, openAsBlob } from 'node:fs';
import { access, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { assertSafeKey, FileObjectMissing, type FileStore } from './file-store.js';

export interface FsFileStoreOptions {
  /** The directory that holds the files (DATA_DIR/files); made when first needed. */
  root: string;
}

const isMissing = (error: unknown): boolean => (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';

/** Files in a local directory, one per key ("<userId>/<fileId>" becomes root/<userId>/<fileId>). */
export function createFsFileStore({ root }: FsFileStoreOptions): FileStore {
  const pathOf = (key: string): string => {
    assertSafeKey(key);
    return join(root, key);
  };

  return {
    kind: 'fs',

    async put(key, body) {
      const target = pathOf(key);
      await mkdir(dirname(target), { recursive: true });
      // Written beside the files (same file system, so the rename is atomic) under a name no key can take
      // (keys never start with a dot): a reader sees the whole file or none, never a half-written one.
      const temp = join(root, `.upload-${randomUUID()}`);
      try {
        await pipeline(body, createWriteStream(temp, { flags: 'wx' }));
        await rename(temp, target);
      } catch (error) {
        body.destroy();
        await rm(temp, { force: true });
        throw error;
      }
    },

    async read(key, range) {
      const path = pathOf(key);
      // Opened here rather than by the stream, so that a missing file rejects now instead of erroring the stream later.
      const handle = await open(path, 'r').catch((error: unknown) => {
        throw isMissing(error) ? new FileObjectMissing(key) : error;
      });
      try {
        // The stream closes the handle when it ends or is destroyed.
        return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
      } catch (error) {
        await handle.close();
        throw error;
      }
    },

    async blob(key, contentType) {
      const path = pathOf(key);
      try {
        return await openAsBlob(path, { type: contentType });
      } catch (error) {
        // openAsBlob gives one error (ERR_INVALID_ARG_VALUE, "Unable to open file as blob") whatever the cause.
        const absent = await stat(path).then(
          () => false,
          (statError: unknown) => isMissing(statError),
        );
        throw absent ? new FileObjectMissing(key) : error;
      }
    },

    async remove(key) {
      await rm(pathOf(key), { force: true });
    },

    async check() {
      await mkdir(root, { recursive: true });
      await access(root, constants.W_OK);
    },
  };
}
