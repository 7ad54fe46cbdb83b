import { accepted, refused, type FileFacts, type Recognition } from './file-facts.js';

/* Image formats from their headers: which one, and its size in pixels (Gemini charges images by tile). */

const fits = (bytes: Buffer, offset: number, length: number): boolean => offset >= 0 && offset + length <= bytes.length;
const ascii = (bytes: Buffer, offset: number, length: number): string =>
  fits(bytes, offset, length) ? bytes.toString('latin1', offset, offset + length) : '';
const size = (width: number, height: number): FileFacts => (width > 0 && height > 0 ? { width, height } : {});

// The IEND chunk, always the same 12 bytes: length 0, type, CRC.
const PNG_END = Buffer.from('0000000049454e44ae426082', 'hex');

/** PNG: the size from IHDR (always the first chunk); complete only with its IEND chunk near the end. */
export function pngRecognition(head: Buffer, tail: Buffer): Recognition {
  if (!fits(head, 0, 24)) return refused('a truncated PNG');
  if (ascii(head, 12, 4) !== 'IHDR') return refused('a damaged PNG');
  // Searched in the tail rather than required at the very end: some tools append bytes after IEND,
  // which every decoder ignores.
  if (!tail.includes(PNG_END)) return refused('a truncated PNG');
  return accepted('image/png', 'image', size(head.readUInt32BE(16), head.readUInt32BE(20)));
}

/** WebP: the size from its first chunk (extended, lossy or lossless); RIFF's length tells a truncated file. */
export function webpRecognition(head: Buffer, sizeBytes: number): Recognition {
  if (sizeBytes < head.readUInt32LE(4) + 8) return refused('a truncated WebP');
  const chunk = ascii(head, 12, 4);
  let facts: FileFacts = {};
  if (chunk === 'VP8X' && fits(head, 24, 6)) facts = size(1 + head.readUIntLE(24, 3), 1 + head.readUIntLE(27, 3));
  else if (chunk === 'VP8 ' && fits(head, 26, 4) && head.readUIntBE(23, 3) === 0x9d012a) {
    facts = size(head.readUInt16LE(26) & 0x3fff, head.readUInt16LE(28) & 0x3fff);
  } else if (chunk === 'VP8L' && fits(head, 21, 4) && head[20] === 0x2f) {
    const bits = head.readUInt32LE(21);
    facts = size(1 + (bits & 0x3fff), 1 + ((bits >>> 14) & 0x3fff));
  }
  return accepted('image/webp', 'image', facts);
}

const HEIC_BRANDS = ['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis'];
const HEIF_BRANDS = ['mif1', 'msf1', 'heif'];
const AVIF_BRANDS = ['avif', 'avis'];

// HEIF stores each image's size in an 'ispe' property; a grid image's tiles have their own, smaller
// ones. The largest in the head is the picture's.
function heifFacts(head: Buffer): FileFacts {
  let best: { width: number; height: number } | undefined;
  for (let at = head.indexOf('ispe'); at >= 0 && fits(head, at, 16); at = head.indexOf('ispe', at + 4)) {
    const width = head.readUInt32BE(at + 8);
    const height = head.readUInt32BE(at + 12);
    if (width > 0 && height > 0 && (!best || width * height > best.width * best.height)) best = { width, height };
  }
  return best ?? {};
}

/** ISO base media files (an 'ftyp' box at offset 4): HEIC and HEIF images are accepted, the rest named by brand. */
export function isoMediaRecognition(head: Buffer): Recognition {
  const boxEnd = Math.min(head.readUInt32BE(0), head.length);
  const major = ascii(head, 8, 4);
  const brands = [major];
  for (let offset = 16; offset + 4 <= boxEnd; offset += 4) brands.push(ascii(head, offset, 4));
  // AVIF files list mif1 among their brands too: the major brand decides first.
  if (AVIF_BRANDS.includes(major)) return refused('image/avif');
  if (brands.some((brand) => HEIC_BRANDS.includes(brand))) return accepted('image/heic', 'image', heifFacts(head));
  if (brands.some((brand) => AVIF_BRANDS.includes(brand))) return refused('image/avif');
  if (brands.some((brand) => HEIF_BRANDS.includes(brand))) return accepted('image/heif', 'image', heifFacts(head));
  if (major === 'qt  ') return refused('video/quicktime');
  if (major.startsWith('M4A') || major.startsWith('M4B') || major.startsWith('M4P')) return refused('audio/mp4');
  if (major.startsWith('3g2')) return refused('video/3gpp2');
  if (major.startsWith('3gp')) return refused('video/3gpp');
  if (major === 'crx ') return refused('image/x-canon-cr3');
  return refused('video/mp4');
}
