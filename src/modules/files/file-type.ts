import { id3TagEnd } from './audio-headers.js';
import { ByteWindow, TailWindow } from './byte-windows.js';
import { accepted, refused, type Recognition } from './file-facts.js';
import { leadingFormat, recogniseSignature } from './file-signatures.js';
import { JpegScanner } from './jpeg-scanner.js';
import { PdfPageCounter } from './pdf-page-counter.js';
import { TextScanner } from './text-scanner.js';

export type { FileFacts, FileFamily, Recognition } from './file-facts.js';

/*
 * What an upload is, from its bytes alone, as they stream past: its name and declared type are
 * claims, checked afterwards by finalType. Memory stays bounded whatever the file's size: the first
 * HEAD_BYTES (signatures and headers), the last TAIL_BYTES (end markers), a window after an ID3 tag,
 * and the state of scanners that need the whole stream (UTF-8 validity, PDF pages, a JPEG's end).
 */
const HEAD_BYTES = 64 * 1024;
// PDF readers look for %%EOF in the last 1 KiB; an Ogg stream's last page header can be a few KiB
// from the end.
const TAIL_BYTES = 16 * 1024;
// An MP3's ID3 tag may hold cover art far longer than the head: its first frames are kept apart.
const AFTER_ID3_BYTES = 16 * 1024;
// Enough to tell a PDF, a JPEG and an ID3 tag's length.
const LEADING_BYTES = 10;

export interface TypeRecognizer {
  push(chunk: Buffer): void;
  finish(): Recognition;
}

export function createTypeRecognizer(): TypeRecognizer {
  const head = new ByteWindow(0, HEAD_BYTES);
  const tail = new TailWindow(TAIL_BYTES);
  const text = new TextScanner();
  const pdfPages = new PdfPageCounter();
  const jpeg = new JpegScanner();
  let afterId3: ByteWindow | null = null;
  let leading: ReturnType<typeof leadingFormat> | undefined;
  let sizeBytes = 0;

  return {
    push(chunk) {
      head.take(chunk, sizeBytes);
      if (leading === undefined && head.length >= LEADING_BYTES) {
        leading = leadingFormat(head.contents());
        const audioStart = id3TagEnd(head.contents());
        if (audioStart !== null) afterId3 = new ByteWindow(audioStart, AFTER_ID3_BYTES);
      }
      // Until the first bytes are in, every scanner sees everything; after, only those the format needs
      // (whether a PDF or a JPEG is valid text does not matter).
      if (leading === undefined || leading === 'pdf') pdfPages.push(chunk);
      if (leading === undefined || leading === 'jpeg') jpeg.push(chunk);
      if (leading === undefined || leading === 'other') text.push(chunk);
      afterId3?.take(chunk, sizeBytes);
      tail.take(chunk);
      sizeBytes += chunk.length;
    },

    finish() {
      if (sizeBytes === 0) return refused('an empty file');
      const textVerdict = text.finish();
      const bySignature = recogniseSignature({
        head: head.contents(),
        tail: tail.contents(),
        sizeBytes,
        pdfPages: pdfPages.finish(),
        jpeg: { ended: jpeg.ended, width: jpeg.width, height: jpeg.height },
        afterId3: afterId3 && { offset: afterId3.start, bytes: afterId3.contents() },
        text: textVerdict,
      });
      if (bySignature) return bySignature;
      switch (textVerdict) {
        case 'text':
          return accepted('text/plain', 'text');
        case 'not-utf8':
          return refused('text that is not valid UTF-8');
        case 'binary':
          return refused('binary data of an unknown type');
      }
    },
  };
}

const NO_CLAIM = 'application/octet-stream';

// Other names clients use for the types recognised here.
const ALIASES = new Map<string, string>(Object.entries({
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'image/heic-sequence': 'image/heic',
  'image/heif-sequence': 'image/heif',
  'application/x-pdf': 'application/pdf',
  'audio/mp3': 'audio/mpeg',
  'audio/mpeg3': 'audio/mpeg',
  'audio/x-mp3': 'audio/mpeg',
  'audio/x-mpeg': 'audio/mpeg',
  'audio/x-mpeg-3': 'audio/mpeg',
  'audio/wave': 'audio/wav',
  'audio/x-wav': 'audio/wav',
  'audio/vnd.wave': 'audio/wav',
  'audio/x-pn-wav': 'audio/wav',
  'audio/x-aiff': 'audio/aiff',
  'audio/x-flac': 'audio/flac',
  'audio/x-aac': 'audio/aac',
  'audio/aacp': 'audio/aac',
  'application/ogg': 'audio/ogg',
  'audio/x-ogg': 'audio/ogg',
  'audio/opus': 'audio/ogg',
  'audio/vorbis': 'audio/ogg',
}));

// The text subtypes kept; a declared one is taken as it is.
// (Maps, not object literals: a claimed "constructor" or an extension ".__proto__" must find nothing.)
const TEXT_SUBTYPES = new Map([
  ['text/plain', 'text/plain'],
  ['text/markdown', 'text/markdown'],
  ['text/x-markdown', 'text/markdown'],
  ['text/csv', 'text/csv'],
]);
const TEXT_BY_EXTENSION = new Map([
  ['md', 'text/markdown'],
  ['markdown', 'text/markdown'],
  ['csv', 'text/csv'],
]);

/*
 * Types that browsers and tools declare for source code and data in plain text (a .py, .json or
 * .yaml file): the bytes do not contradict them, so they count as a claim of "text", and the file is
 * kept as text/plain (or the subtype its extension names). HTML is not among them: it claims a page
 * that renders, which a file kept and served as plain text is not.
 */
function claimsPlainText(declared: string): boolean {
  if (declared.startsWith('text/')) return declared !== 'text/html';
  return ['application/json', 'application/x-ndjson', 'application/xml', 'application/yaml', 'application/x-yaml', 'application/toml',
    'application/javascript', 'application/x-javascript', 'application/x-sh', 'application/sql', 'application/x-tex'].includes(declared);
}

const extensionOf = (fileName: string): string => {
  const dot = fileName.lastIndexOf('.');
  return dot < 0 ? '' : fileName.slice(dot + 1).toLowerCase();
};

/**
 * The type a file is kept as: the recognised one, given what the client declared (`declared`, the
 * part's Content-Type) and the file's name. Text gets its subtype (markdown, CSV) from the declared
 * type or else the extension; any declared type that contradicts the bytes refuses the file, naming
 * what the bytes are. A declared `application/octet-stream`, or none, claims nothing.
 */
export function finalType(recognition: Recognition, declared: string | undefined, fileName: string): Recognition {
  if (recognition.kind === 'refused') return recognition;
  const claim = (declared ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const noClaim = claim === '' || claim === NO_CLAIM;
  if (recognition.family === 'text') {
    const subtype = TEXT_SUBTYPES.get(claim);
    if (subtype) return { ...recognition, mimeType: subtype };
    if (!noClaim && !claimsPlainText(claim)) return refused(recognition.mimeType);
    return { ...recognition, mimeType: TEXT_BY_EXTENSION.get(extensionOf(fileName)) ?? recognition.mimeType };
  }
  if (noClaim) return recognition;
  const claimed = ALIASES.get(claim) ?? claim;
  // A HEIC image is a HEIF image (with HEVC inside): claiming the general type is no contradiction.
  const agrees = claimed === recognition.mimeType || (claimed === 'image/heif' && recognition.mimeType === 'image/heic');
  return agrees ? recognition : refused(recognition.mimeType);
}
