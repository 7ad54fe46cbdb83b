import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { createTypeRecognizer, type Recognition } from './file-type.js';

/** The upload passed `maxBytes`: nothing of it may be kept. */
export class UploadTooLarge extends Error {
  override name = 'UploadTooLarge';

  constructor(readonly maxBytes: number) {
    super(`the file is larger than ${maxBytes} bytes`);
  }
}

/** What the bytes that went through were. */
export interface Inspection {
  sizeBytes: number;
  sha256: string;
  recognition: Recognition;
}

/**
 * A pass-through for an upload on its way to the file store: it hashes and counts the bytes and
 * recognises their type as they go, so nothing is read twice or held whole, and it fails the stream
 * (UploadTooLarge) the moment the size passes `maxBytes`, so the store keeps nothing of it.
 */
export function createUploadInspector(maxBytes: number): Transform & { inspection(): Inspection } {
  const hash = createHash('sha256');
  const recognizer = createTypeRecognizer();
  let sizeBytes = 0;
  const inspector = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      sizeBytes += chunk.length;
      if (sizeBytes > maxBytes) {
        callback(new UploadTooLarge(maxBytes));
        return;
      }
      hash.update(chunk);
      recognizer.push(chunk);
      callback(null, chunk);
    },
  });
  return Object.assign(inspector, {
    inspection: (): Inspection => ({ sizeBytes, sha256: hash.digest('hex'), recognition: recognizer.finish() }),
  });
}
