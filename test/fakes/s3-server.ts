import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A local S3-compatible server (s3rver, files in a temp directory) with one bucket, for the S3 file store.
 *
 * s3rver 3.7 keeps multipart uploads but implements neither AbortMultipartUpload (DELETE ?uploadId: 405) nor
 * ListMultipartUploads (GET ?uploads: 501). Both are answered here, at the wire and from s3rver's own upload
 * directory, so that a test can see through the S3 API whether an upload cut off was aborted.
 */
export interface S3Server {
  readonly endpoint: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  close(): Promise<void>;
}

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  type: string;
  body: unknown;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface S3rverInstance {
  middleware: KoaMiddleware[];
  store: { getResourcePath(bucket: string, key: string | undefined, resource: string): string };
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

// s3rver is CommonJS without types.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

const xmlEscape = (text: string) => text.replace(/[<>&'"]/g, (char) => `&#${char.charCodeAt(0)};`);

export async function startS3Server(bucket = 'files'): Promise<S3Server> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket }] });
  const uploadsDir = server.store.getResourcePath(bucket, undefined, 'uploads');

  const multipartUploads: KoaMiddleware = async (ctx, next) => {
    const uploadId = ctx.query.uploadId;
    if (ctx.method === 'DELETE' && typeof uploadId === 'string' && ctx.path.startsWith(`/${bucket}/`)) {
      const known = /^[A-Za-z0-9]+$/.test(uploadId) && (await readdir(uploadsDir).catch((): string[] => [])).includes(uploadId);
      if (!known) {
        ctx.status = 404;
        ctx.type = 'application/xml';
        ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code><Message>No such upload</Message></Error>';
        return;
      }
      await rm(join(uploadsDir, uploadId), { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    if (ctx.method === 'GET' && 'uploads' in ctx.query && (ctx.path === `/${bucket}` || ctx.path === `/${bucket}/`)) {
      const ids = await readdir(uploadsDir).catch((): string[] => []);
      const uploads = await Promise.all(
        ids.map(async (id) => `<Upload><Key>${xmlEscape(await readFile(join(uploadsDir, id, 'key'), 'utf8'))}</Key><UploadId>${id}</UploadId></Upload>`),
      );
      ctx.status = 200;
      ctx.type = 'application/xml';
      ctx.body =
        '<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        `<Bucket>${xmlEscape(bucket)}</Bucket><IsTruncated>false</IsTruncated>${uploads.join('')}</ListMultipartUploadsResult>`;
      return;
    }
    await next();
  };
  // Ahead of s3rver's router, which would refuse both.
  server.middleware.unshift(multipartUploads);

  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    // s3rver's built-in account.
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
