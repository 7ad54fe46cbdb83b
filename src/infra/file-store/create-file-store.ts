import { join } from 'node:path';
import type { Config } from '../../config.js';
import type { FileStore } from './file-store.js';
import { createFsFileStore } from './fs-file-store.js';
import { createS3FileStore } from './s3-file-store.js';

type FileStoreConfig = Pick<
  Config,
  'FILE_STORE' | 'DATA_DIR' | 'S3_BUCKET' | 'S3_REGION' | 'S3_ENDPOINT' | 'S3_ACCESS_KEY_ID' | 'S3_SECRET_ACCESS_KEY' | 'S3_FORCE_PATH_STYLE'
>;

/** The file store the settings name: DATA_DIR/files, or the S3 bucket. */
export function fileStoreFrom(config: FileStoreConfig): FileStore {
  switch (config.FILE_STORE) {
    case 'fs':
      return createFsFileStore({ root: join(config.DATA_DIR, 'files') });
    case 's3': {
      // loadConfig refuses FILE_STORE=s3 without a bucket; this guards a config built by hand.
      if (config.S3_BUCKET === undefined) throw new Error('FILE_STORE=s3 needs S3_BUCKET');
      return createS3FileStore({
        bucket: config.S3_BUCKET,
        region: config.S3_REGION,
        endpoint: config.S3_ENDPOINT,
        accessKeyId: config.S3_ACCESS_KEY_ID,
        secretAccessKey: config.S3_SECRET_ACCESS_KEY,
        forcePathStyle: config.S3_FORCE_PATH_STYLE,
      });
    }
  }
}
