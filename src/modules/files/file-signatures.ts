import { aiffFacts, flacFacts, framedAudioRecognition, oggRecognition, wavFacts } from './audio-headers.js';
import { accepted, refused, type Recognition } from './file-facts.js';
import { isoMediaRecognition, pngRecognition, webpRecognition } from './image-headers.js';
import type { TextVerdict } from './text-scanner.js';

/** What a recogniser kept of a file, and what its streaming scanners found, for the verdict at the end. */
export interface SeenBytes {
  head: Buffer;
  tail: Buffer;
  sizeBytes: number;
  pdfPages: number;
  jpeg: { ended: boolean; width: number | undefined; height: number | undefined };
  /** The bytes after an ID3 tag (where the audio starts), when the file begins with one. */
  afterId3: { offset: number; bytes: Buffer } | null;
  text: TextVerdict;
}

const ascii = (text: string): Buffer => Buffer.from(text, 'latin1');
const hex = (digits: string): Buffer => Buffer.from(digits, 'hex');
const startsWith = (bytes: Buffer, magic: Buffer, at = 0): boolean =>
  bytes.length >= at + magic.length && bytes.subarray(at, at + magic.length).equals(magic);

interface KnownSignature {
  magic: Buffer;
  recognised: string;
  /** A further check where the magic alone is too short to trust. */
  confirm?: (head: Buffer) => boolean;
}

// Formats Gemini does not read, named so that the refusal says what the file is.
const REFUSED_SIGNATURES: KnownSignature[] = [
  { magic: hex('504b0304'), recognised: 'application/zip' },
  { magic: hex('504b0506'), recognised: 'application/zip' },
  { magic: hex('504b0708'), recognised: 'application/zip' },
  { magic: hex('1f8b'), recognised: 'application/gzip' },
  { magic: ascii('BZh'), recognised: 'application/x-bzip2' },
  { magic: hex('fd377a585a00'), recognised: 'application/x-xz' },
  { magic: hex('28b52ffd'), recognised: 'application/zstd' },
  { magic: hex('377abcaf271c'), recognised: 'application/x-7z-compressed' },
  { magic: ascii('Rar!\x1a\x07'), recognised: 'application/vnd.rar' },
  { magic: ascii('GIF87a'), recognised: 'image/gif' },
  { magic: ascii('GIF89a'), recognised: 'image/gif' },
  { magic: hex('49492a00'), recognised: 'image/tiff' },
  { magic: hex('4d4d002a'), recognised: 'image/tiff' },
  // A BMP's DIB header has one of a few known sizes; "BM" alone begins many words.
  { magic: ascii('BM'), recognised: 'image/bmp', confirm: (head) => head.length >= 18 && [12, 40, 52, 56, 64, 108, 124].includes(head.readUInt32LE(14)) },
  { magic: hex('00000100'), recognised: 'image/x-icon' },
  { magic: ascii('8BPS'), recognised: 'image/vnd.adobe.photoshop' },
  { magic: hex('ff0a'), recognised: 'image/jxl' },
  { magic: hex('0000000c4a584c200d0a870a'), recognised: 'image/jxl' },
  { magic: ascii('MZ'), recognised: 'application/x-msdownload' },
  { magic: hex('7f454c46'), recognised: 'application/x-executable' },
  { magic: hex('feedface'), recognised: 'application/x-mach-binary' },
  { magic: hex('feedfacf'), recognised: 'application/x-mach-binary' },
  { magic: hex('cefaedfe'), recognised: 'application/x-mach-binary' },
  { magic: hex('cffaedfe'), recognised: 'application/x-mach-binary' },
  // CAFEBABE begins both Java classes and universal Mach-O binaries: the next word is a class file's
  // version (45 or more) or a small count of architectures.
  { magic: hex('cafebabe'), recognised: 'application/java-vm', confirm: (head) => head.length >= 8 && head.readUInt32BE(4) >= 45 },
  { magic: hex('cafebabe'), recognised: 'application/x-mach-binary' },
  { magic: hex('0061736d'), recognised: 'application/wasm' },
  { magic: hex('d0cf11e0a1b11ae1'), recognised: 'application/x-ole-storage' },
  { magic: ascii('SQLite format 3\0'), recognised: 'application/vnd.sqlite3' },
  { magic: hex('1a45dfa3'), recognised: 'video/x-matroska' },
  { magic: ascii('FLV\x01'), recognised: 'video/x-flv' },
  { magic: hex('000001ba'), recognised: 'video/mpeg' },
  { magic: hex('000001b3'), recognised: 'video/mpeg' },
  { magic: ascii('MThd'), recognised: 'audio/midi' },
  { magic: ascii('wOFF'), recognised: 'font/woff' },
  { magic: ascii('wOF2'), recognised: 'font/woff2' },
  { magic: ascii('OTTO'), recognised: 'font/otf' },
];

const isPrintable = (magic: Buffer): boolean => magic.every((byte) => byte >= 0x20 && byte < 0x7f);

function knownRefusal(seen: SeenBytes): Recognition | null {
  for (const signature of REFUSED_SIGNATURES) {
    if (!startsWith(seen.head, signature.magic) || (signature.confirm && !signature.confirm(seen.head))) continue;
    // A signature of printable characters ("MZ", "BM", "OTTO") can begin a plain text file: text wins.
    if (isPrintable(signature.magic) && seen.text === 'text') return null;
    return refused(signature.recognised);
  }
  return null;
}

const PNG = hex('89504e470d0a1a0a');
const JPEG = hex('ffd8ff');
const PDF = ascii('%PDF-');
const PDF_END = ascii('%%EOF');

/** The first bytes that decide which streaming scanners a file needs. */
export function leadingFormat(head: Buffer): 'pdf' | 'jpeg' | 'other' {
  if (startsWith(head, PDF)) return 'pdf';
  if (startsWith(head, JPEG)) return 'jpeg';
  return 'other';
}

function audioAfterId3(seen: SeenBytes, afterId3: { offset: number; bytes: Buffer }): Recognition {
  // Some taggers pad with zeros after the tag's declared end.
  let skip = 0;
  while (skip < afterId3.bytes.length && afterId3.bytes[skip] === 0) skip += 1;
  const audio = afterId3.bytes.subarray(skip);
  if (startsWith(audio, ascii('fLaC'))) return accepted('audio/flac', 'audio', flacFacts(audio, 0));
  const framed = framedAudioRecognition(audio, seen.sizeBytes - afterId3.offset - skip);
  // A tag longer than what was kept (cover art) hides the frames: ID3 is MP3's tag, so it is MP3.
  return framed ?? accepted('audio/mpeg', 'audio');
}

/** The verdict from the file's signature, or null when it has none this knows (then it may be text). */
export function recogniseSignature(seen: SeenBytes): Recognition | null {
  const { head, tail } = seen;
  if (startsWith(head, PNG)) return pngRecognition(head, tail);
  if (startsWith(head, JPEG)) {
    const { ended, width, height } = seen.jpeg;
    if (!ended) return refused('a truncated JPEG');
    return accepted('image/jpeg', 'image', width !== undefined && height !== undefined ? { width, height } : {});
  }
  if (startsWith(head, PDF)) {
    if (!tail.includes(PDF_END)) return refused('a truncated PDF');
    return accepted('application/pdf', 'pdf', seen.pdfPages > 0 ? { pages: seen.pdfPages } : {});
  }
  if (startsWith(head, ascii('RIFF'))) {
    if (startsWith(head, ascii('WEBP'), 8)) return webpRecognition(head, seen.sizeBytes);
    if (startsWith(head, ascii('WAVE'), 8)) return accepted('audio/wav', 'audio', wavFacts(head, seen.sizeBytes));
    if (startsWith(head, ascii('AVI '), 8)) return refused('video/x-msvideo');
  }
  if (startsWith(head, ascii('ftyp'), 4) && head.readUInt32BE(0) >= 8) return isoMediaRecognition(head);
  if (startsWith(head, ascii('FORM')) && (startsWith(head, ascii('AIFF'), 8) || startsWith(head, ascii('AIFC'), 8))) {
    return accepted('audio/aiff', 'audio', aiffFacts(head));
  }
  if (startsWith(head, ascii('OggS\0'))) return oggRecognition(head, tail);
  if (startsWith(head, ascii('fLaC'))) return accepted('audio/flac', 'audio', flacFacts(head, 0));
  if (seen.afterId3) return audioAfterId3(seen, seen.afterId3);
  return framedAudioRecognition(head, seen.sizeBytes) ?? knownRefusal(seen);
}
