import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startS3Server } from '../fakes/s3-server.js';

/** A file store for a test app: its settings, and what is stored in it now (keys). */
export interface TestFileStore {
  kind: 'fs' | 's3';
  env: Record<string, string>;
  keys(): Promise<string[]>;
  close(): Promise<void>;
}

/** The `fs` store in a temporary DATA_DIR of its own. */
export function startFsStore(): TestFileStore {
  const dataDir = mkdtempSync(join(tmpdir(), 'gc-files-'));
  return {
    kind: 'fs',
    env: { DATA_DIR: dataDir, FILE_STORE: 'fs' },
    keys: () => {
      const root = join(dataDir, 'files');
      try {
        return Promise.resolve(readdirSync(root, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => entry.name));
      } catch {
        return Promise.resolve([]);
      }
    },
    close: () => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })),
  };
}

/** The `s3` store on a real S3-compatible server (s3rver, test/fakes/s3-server.ts) started for the test. */
export async function startS3Store(): Promise<TestFileStore> {
  const server = await startS3Server('chat-files');
  const { endpoint, bucket, accessKeyId, secretAccessKey } = server;
  const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
  return {
    kind: 's3',
    env: {
      FILE_STORE: 's3',
      S3_BUCKET: bucket,
      S3_REGION: 'us-east-1',
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: accessKeyId,
      S3_SECRET_ACCESS_KEY: secretAccessKey,
    },
    async keys() {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (listed.Contents ?? []).map((object) => object.Key ?? '');
    },
    async close() {
      client.destroy();
      await server.close();
    },
  };
}
