/**
 * The local S3 server of the tests (test/fakes/s3-server.ts: s3rver) in a process of its own, so that
 * its work is not counted in the server's or the load generator's CPU. One bucket; prints where.
 */
import { startS3Server } from '../test/fakes/s3-server.js';

const s3 = await startS3Server('bench-files');
console.log(JSON.stringify({ ready: true, url: s3.endpoint, bucket: s3.bucket, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }));
process.on('SIGTERM', () => {
  void s3.close().then(() => process.exit(0));
});
