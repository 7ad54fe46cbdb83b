import type { Readable } from 'node:stream';

/** Bytes `start` to `end` of an object, both included, as in an HTTP Range header. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Nothing is stored under the key (never stored, or removed). */
export class FileObjectMissing extends Error {
  override name = 'FileObjectMissing';
  constructor(readonly key: string) {
    super(`No file object is stored under '${key}'`);
  }
}

/**
 * Where the bytes of uploaded files live: a directory (one machine) or an S3 bucket (several).
 * Keys are chosen by the caller from ids ("<userId>/<fileId>"), never from a file name.
 */
export interface FileStore {
  readonly kind: 'fs' | 's3';
  /**
   * Streams `body` under `key` (never whole in memory). If the body errors or is destroyed, or the store fails,
   * nothing is left under `key` (fs: no file, not even a temp one; s3: the multipart upload aborted), the body is
   * destroyed, and it rejects: with the body's own error when the body errored (so a caller's size limit that errors
   * the body comes back as itself). Putting a key again replaces its bytes.
   */
  put(key: string, body: Readable, contentType: string): Promise<void>;
  /** The bytes, or a range of them; rejects FileObjectMissing when absent. */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /** The whole object as a Blob for an upload to Gemini's Files API (fs: fs.openAsBlob, read lazily). Rejects FileObjectMissing when absent. */
  blob(key: string, contentType: string): Promise<Blob>;
  /** Deletes; resolves when gone or already absent. */
  remove(key: string): Promise<void>;
  /** Throws when the store cannot be reached (readiness). */
  check(): Promise<void>;
}

// A segment may not start with a dot: that rules out '.' and '..', and keeps keys apart from the fs store's temp files.
const keySegment = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/**
 * Throws unless `key` is '/'-separated segments of letters, digits, '.', '_' and '-' (none empty, none starting
 * with a dot). Both stores apply it, so a key that one accepts the other accepts too, and an fs key cannot leave its root.
 */
export function assertSafeKey(key: string): void {
  const segments = key.split('/');
  if (key.length > 512 || !segments.every((segment) => keySegment.test(segment))) {
    throw new Error(`File store key '${key.slice(0, 100)}' is not '/'-separated segments of [A-Za-z0-9._-] (no empty, '.' or '..' segment)`);
  }
}
