/**
 * The files the upload scenario sends, built in memory at any size, each one the API accepts: its
 * type is recognised from the bytes, so a buffer of zeros would be refused (415) rather than measured.
 */
import { randomBytes } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';

const LINE = 'All work and no play makes a dull upload; every byte of it is read as it streams.\n';

/** `bytes` of plain UTF-8 text (lines of ASCII): the type whose recognition reads every byte. */
export const textFile = (bytes: number): Buffer => Buffer.alloc(bytes, LINE);

const u32be = (value: number): Buffer => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
};

function pngChunk(type: string, data: Buffer): Buffer {
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  return Buffer.concat([u32be(data.length), typeAndData, u32be(crc32(typeAndData))]);
}

const PNG_WIDTH = 1024;
const PNG_ROW_BYTES = 1 + PNG_WIDTH * 3; // filter byte, then RGB pixels

/**
 * A real RGB PNG of random pixels, 1024 wide and as tall as makes it about `bytes` long (a smaller
 * one is a single row): random pixels do not compress, so the file is as large as its pixels.
 */
export function noisePng(bytes: number): Buffer {
  const height = Math.max(1, Math.round(bytes / PNG_ROW_BYTES));
  const pixels = randomBytes(height * PNG_ROW_BYTES);
  for (let row = 0; row < height; row++) pixels[row * PNG_ROW_BYTES] = 0; // filter type 0 (none)
  const header = Buffer.concat([u32be(PNG_WIDTH), u32be(height), Buffer.from([8, 2, 0, 0, 0])]); // 8-bit RGB
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(pixels, { level: 1 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

export type BenchFileKind = 'text' | 'png';

export const benchFile = (kind: BenchFileKind, bytes: number): { bytes: Buffer; name: string; type: string } =>
  kind === 'text' ? { bytes: textFile(bytes), name: 'bench.txt', type: 'text/plain' } : { bytes: noisePng(bytes), name: 'noise.png', type: 'image/png' };

/** A multipart/form-data body of one part named `file` (what POST /files takes), around bytes that are sent as they are. */
export function multipartAround(file: { bytes: Buffer; name: string; type: string }) {
  const boundary = `bench-${randomBytes(12).toString('hex')}`;
  const head = Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${file.name}"\r\ncontent-type: ${file.type}\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { contentType: `multipart/form-data; boundary=${boundary}`, head, tail, length: head.length + file.bytes.length + tail.length };
}
