import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { assertSafeKey, FileObjectMissing, type FileStore } from './file-store.js';

export interface S3FileStoreOptions {
  bucket: string;
  region: string;
  /** An S3-compatible service (MinIO, R2, a test server); unset = AWS. */
  endpoint?: string;
  /** Both unset = the SDK's default credential chain (environment, instance or task role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** bucket in the path (endpoint/bucket/key) instead of the host name; most S3-compatible services need it. */
  forcePathStyle: boolean;
}

// lib-storage buffers one part in memory per concurrent upload: one 5 MiB part at a time (S3's smallest
// part size) bounds an upload to about 5 MiB of memory however large the file and however slow the client.
const PART_SIZE_BYTES = 5 * 1024 * 1024;
const QUEUE_SIZE = 1;
const CONNECT_TIMEOUT_MS = 5_000;
const CHECK_TIMEOUT_MS = 5_000;

/** Files as objects of one S3 bucket, one per key (the key as given, no prefix). */
export function createS3FileStore(options: S3FileStoreOptions): FileStore {
  const { bucket } = options;
  const client = new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    credentials:
      options.accessKeyId !== undefined && options.secretAccessKey !== undefined
        ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
        : undefined,
    // No request (idle) timeout: a download paused by a slow reader is idle on purpose. Only connecting is bounded.
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS },
    ...(options.endpoint !== undefined && {
      // The SDK's default checksums (CRC32 on every upload, checked on every download) are not understood by
      // every S3-compatible service; send and check them only where S3 requires them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
  });

  const getObject = async (key: string, range?: string) => {
    assertSafeKey(key);
    try {
      return await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
    } catch (error) {
      throw error instanceof NoSuchKey ? new FileObjectMissing(key) : error;
    }
  };

  return {
    kind: 's3',

    async put(key, body, contentType) {
      assertSafeKey(key);
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType },
        queueSize: QUEUE_SIZE,
        partSize: PART_SIZE_BYTES,
        // When the body errors (a destroyed body errors too) or a part fails, Upload aborts the multipart
        // upload, so neither an object nor parts billed as storage are left. An abort that fails itself
        // leaves the parts: a bucket lifecycle rule (AbortIncompleteMultipartUpload) is the backstop.
        leavePartsOnError: false,
      });
      // Upload reports a failed abort in place of the body's error; the caller needs the body's own.
      let bodyError: unknown;
      body.once('error', (error) => (bodyError = error));
      try {
        await upload.done();
      } catch (error) {
        body.destroy();
        throw bodyError ?? error;
      }
    },

    async read(key, range) {
      const object = await getObject(key, range ? `bytes=${range.start}-${range.end}` : undefined);
      // In Node the SDK's body is the HTTP response itself, an IncomingMessage.
      if (!(object.Body instanceof Readable)) throw new Error(`S3 returned no readable body for '${key}'`);
      return object.Body;
    },

    async blob(key, contentType) {
      const object = await getObject(key);
      if (object.Body === undefined) throw new Error(`S3 returned no body for '${key}'`);
      // Whole in memory, unlike every other path here: S3 has no lazily read Blob. A file is at most
      // MAX_UPLOAD_BYTES, and a Blob is what the Gemini Files API upload takes.
      return new Blob([await object.Body.transformToByteArray()], { type: contentType });
    },

    async remove(key) {
      assertSafeKey(key);
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },

    async check() {
      await client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
    },
  };
}
