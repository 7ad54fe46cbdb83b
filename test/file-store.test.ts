import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { fileStoreFrom } from '../src/infra/file-store/create-file-store.js';
import { FileObjectMissing, type FileStore } from '../src/infra/file-store/file-store.js';
import { createFsFileStore } from '../src/infra/file-store/fs-file-store.js';
import { createS3FileStore } from '../src/infra/file-store/s3-file-store.js';
import { startS3Server, type S3Server } from './fakes/s3-server.js';

const MiB = 1024 * 1024;

/** A store under test, and what a failed upload could have left behind in it (temp files, multipart uploads). */
interface Driver {
  store: FileStore;
  leftovers(): Promise<string[]>;
  close(): Promise<void>;
}

async function fsDriver(): Promise<Driver> {
  const dataDir = await mkdtemp(join(tmpdir(), 'file-store-'));
  const store = fileStoreFrom(loadConfig({ DATA_DIR: dataDir }));
  const root = join(dataDir, 'files');
  return {
    store,
    leftovers: async () => (await readdir(root).catch(() => [])).filter((name) => name.startsWith('.')),
    close: () => rm(dataDir, { recursive: true, force: true }),
  };
}

async function s3Driver(): Promise<Driver> {
  const server = await startS3Server();
  const store = fileStoreFrom(
    loadConfig({
      FILE_STORE: 's3',
      S3_BUCKET: server.bucket,
      S3_ENDPOINT: server.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: server.accessKeyId,
      S3_SECRET_ACCESS_KEY: server.secretAccessKey,
    }),
  );
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  return {
    store,
    leftovers: async () => {
      const listing = await client.send(new ListMultipartUploadsCommand({ Bucket: server.bucket }));
      return (listing.Uploads ?? []).map((upload) => `multipart upload of ${upload.Key}`);
    },
    close: async () => {
      client.destroy();
      await server.close();
    },
  };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const newKey = () => `${randomUUID()}/${randomUUID()}`;
const bytesOf = async (stream: Readable) => Buffer.concat((await stream.toArray()) as Buffer[]);

/** `bytes` in chunks of 1 MiB, as a request body arrives. */
const bodyOf = (bytes: Buffer) =>
  Readable.from(
    (function* () {
      for (let offset = 0; offset < bytes.length; offset += MiB) yield bytes.subarray(offset, offset + MiB);
    })(),
  );

/** A body that sends 6 MiB (more than one S3 part) and then fails, as a client that goes away. */
const bodyThatErrors = () =>
  Readable.from(
    (async function* () {
      for (let sent = 0; sent < 6; sent++) yield randomBytes(MiB);
      throw new Error('client went away');
    })(),
  );

/** A body destroyed without an error after 6 MiB (a request aborted under it). */
function bodyThatIsDestroyed(): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent++ < 6) this.push(randomBytes(MiB));
      else this.destroy();
    },
  });
}

describe.each([
  { kind: 'fs', start: fsDriver },
  { kind: 's3', start: s3Driver },
])('file store ($kind)', ({ kind, start }) => {
  let driver: Driver;
  let store: FileStore;
  beforeAll(async () => {
    driver = await start();
    store = driver.store;
  });
  afterAll(() => driver?.close());

  it('is the store the settings name, and reachable', async () => {
    expect(store.kind).toBe(kind);
    await expect(store.check()).resolves.toBeUndefined();
  });

  it('gives back the bytes of a body of many chunks', async () => {
    const bytes = randomBytes(12 * MiB);
    const key = newKey();
    await store.put(key, bodyOf(bytes), 'application/pdf');
    const read = await bytesOf(await store.read(key));
    expect(read.length).toBe(bytes.length);
    expect(sha256(read)).toBe(sha256(bytes));
  });

  it('gives back a range, both ends included', async () => {
    const bytes = randomBytes(3 * MiB + 17);
    const key = newKey();
    await store.put(key, bodyOf(bytes), 'image/png');
    // Not { start: 0, end: 0 }: s3rver takes an end of 0 for no end and sends everything (S3 sends one byte).
    expect((await bytesOf(await store.read(key, { start: 0, end: 1 }))).toString('hex')).toBe(bytes.subarray(0, 2).toString('hex'));
    expect((await bytesOf(await store.read(key, { start: 7, end: 7 }))).toString('hex')).toBe(bytes.subarray(7, 8).toString('hex'));
    expect((await bytesOf(await store.read(key, { start: 100, end: 199 }))).toString('hex')).toBe(bytes.subarray(100, 200).toString('hex'));
    const tail = await bytesOf(await store.read(key, { start: MiB + 5, end: bytes.length - 1 }));
    expect(sha256(tail)).toBe(sha256(bytes.subarray(MiB + 5)));
  });

  it('says a key with nothing under it is missing', async () => {
    const key = newKey();
    await expect(store.read(key)).rejects.toBeInstanceOf(FileObjectMissing);
    await expect(store.read(key, { start: 0, end: 9 })).rejects.toBeInstanceOf(FileObjectMissing);
    await expect(store.blob(key, 'text/plain')).rejects.toBeInstanceOf(FileObjectMissing);
  });

  it('keeps an empty file', async () => {
    const key = newKey();
    await store.put(key, bodyOf(Buffer.alloc(0)), 'text/plain');
    expect((await bytesOf(await store.read(key))).length).toBe(0);
  });

  it.each([
    // The body's own error comes back, so that a caller can tell its own refusal (a size limit) from a store failure.
    { body: 'errors half-way', make: bodyThatErrors, error: 'client went away' },
    { body: 'is destroyed half-way', make: bodyThatIsDestroyed, error: undefined },
  ])('keeps nothing of a body that $body', async ({ make, error }) => {
    const key = newKey();
    const body = make();
    await expect(store.put(key, body, 'audio/mpeg')).rejects.toThrow(error);
    expect(body.destroyed).toBe(true);
    await expect(store.read(key)).rejects.toBeInstanceOf(FileObjectMissing);
    expect(await driver.leftovers()).toEqual([]);
  });

  it('forgets a removed file, and removing it again is fine', async () => {
    const key = newKey();
    await store.put(key, bodyOf(Buffer.from('to be removed')), 'text/plain');
    await store.remove(key);
    await expect(store.read(key)).rejects.toBeInstanceOf(FileObjectMissing);
    await expect(store.remove(key)).resolves.toBeUndefined();
    await expect(store.remove(newKey())).resolves.toBeUndefined();
  });

  it('replaces what a key held when it is put again', async () => {
    const key = newKey();
    await store.put(key, bodyOf(Buffer.from('first')), 'text/plain');
    await store.put(key, bodyOf(Buffer.from('second version')), 'text/plain');
    expect((await bytesOf(await store.read(key))).toString()).toBe('second version');
  });

  it('gives the whole file as a Blob of the type asked for', async () => {
    const bytes = randomBytes(2 * MiB + 3);
    const key = newKey();
    await store.put(key, bodyOf(bytes), 'audio/wav');
    const blob = await store.blob(key, 'audio/wav');
    expect(blob.type).toBe('audio/wav');
    expect(blob.size).toBe(bytes.length);
    expect(sha256(Buffer.from(await blob.arrayBuffer()))).toBe(sha256(bytes));
  });

  it.each(['../escape', 'user/../../escape', '/etc/passwd', 'user\\file', 'user//file', 'user/', '', '.hidden/file', 'user/./file'])(
    'refuses the key %j',
    async (key) => {
      await expect(store.put(key, bodyOf(Buffer.from('x')), 'text/plain')).rejects.toThrow(/key/);
      await expect(store.read(key)).rejects.toThrow(/key/);
      await expect(store.remove(key)).rejects.toThrow(/key/);
      await expect(store.blob(key, 'text/plain')).rejects.toThrow(/key/);
    },
  );
});

describe('file store readiness', () => {
  let server: S3Server;
  beforeAll(async () => {
    server = await startS3Server();
  });
  afterAll(() => server?.close());

  const s3Store = (overrides: { bucket?: string; endpoint?: string }) =>
    createS3FileStore({
      bucket: overrides.bucket ?? server.bucket,
      region: 'us-east-1',
      endpoint: overrides.endpoint ?? server.endpoint,
      accessKeyId: server.accessKeyId,
      secretAccessKey: server.secretAccessKey,
      forcePathStyle: true,
    });

  it('s3: fails for a bucket that does not exist', async () => {
    await expect(s3Store({ bucket: 'no-such-bucket' }).check()).rejects.toThrow();
  });

  it('s3: fails when nothing answers at the endpoint', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    await expect(s3Store({ endpoint: `http://127.0.0.1:${port}` }).check()).rejects.toThrow();
  });

  it('fs: fails when the root cannot be a directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'file-store-'));
    try {
      await writeFile(join(dir, 'a-file'), 'not a directory');
      await expect(createFsFileStore({ root: join(dir, 'a-file', 'files') }).check()).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('FILE_STORE=s3 needs a bucket', () => {
    expect(() => loadConfig({ FILE_STORE: 's3' })).toThrow(/S3_BUCKET: is required when FILE_STORE=s3/);
    expect(loadConfig({}).FILE_STORE).toBe('fs');
  });
});
