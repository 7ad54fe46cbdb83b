import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createTypeRecognizer, finalType, type Recognition } from '../../src/modules/files/file-type.js';
import {
  AAC_FRAME_SECONDS,
  MP3_FRAME_SECONDS,
  aacBytes,
  aiffBytes,
  exeBytes,
  flacBytes,
  heicBytes,
  jpegBytes,
  mp3Bytes,
  oggBytes,
  pdfBytes,
  pngBytes,
  wavBytes,
  webpBytes,
  zipBytes,
} from './fixtures/sample-files.js';

/* What an upload is, judged from its bytes as they stream in: the types Gemini reads are accepted, the rest named. */

function recognise(bytes: Buffer, chunkSize = bytes.length || 1): Recognition {
  const recognizer = createTypeRecognizer();
  for (let offset = 0; offset < bytes.length; offset += chunkSize) recognizer.push(bytes.subarray(offset, offset + chunkSize));
  return recognizer.finish();
}

const text = (value: string): Buffer => Buffer.from(value, 'utf8');
const duration = (recognition: Recognition): number | undefined =>
  recognition.kind === 'accepted' ? recognition.facts.durationSeconds : undefined;

describe('accepted types, recognised from their bytes', () => {
  it('a PNG, with its size', () => {
    expect(recognise(pngBytes(640, 480))).toEqual({ kind: 'accepted', mimeType: 'image/png', family: 'image', facts: { width: 640, height: 480 } });
  });

  it('a JPEG, with its size', () => {
    expect(recognise(jpegBytes(100, 50))).toEqual({ kind: 'accepted', mimeType: 'image/jpeg', family: 'image', facts: { width: 100, height: 50 } });
  });

  it('a JPEG whose frame header comes after a large EXIF block and thumbnail', () => {
    const exif = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), Buffer.alloc(60_000, 0x20), jpegBytes(8, 8)]);
    expect(recognise(jpegBytes(4000, 3000, exif), 4096)).toMatchObject({ mimeType: 'image/jpeg', facts: { width: 4000, height: 3000 } });
  });

  it('a JPEG with bytes after its end (a motion photo carries its video there)', () => {
    const motionPhoto = Buffer.concat([jpegBytes(64, 64), Buffer.alloc(2000, 0x41)]);
    expect(recognise(motionPhoto)).toMatchObject({ kind: 'accepted', mimeType: 'image/jpeg' });
  });

  it('a WebP, lossless and extended, with its size', () => {
    expect(recognise(webpBytes())).toEqual({ kind: 'accepted', mimeType: 'image/webp', family: 'image', facts: { width: 1, height: 1 } });
    const extended = Buffer.concat([Buffer.from('RIFF\x16\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0', 'latin1'), Buffer.from([0x7f, 0x07, 0x00, 0x37, 0x04, 0x00])]);
    expect(recognise(extended)).toMatchObject({ mimeType: 'image/webp', facts: { width: 1920, height: 1080 } });
  });

  it('a HEIC image (and a HEIF one by its brands), with its size', () => {
    expect(recognise(heicBytes(4032, 3024))).toEqual({ kind: 'accepted', mimeType: 'image/heic', family: 'image', facts: { width: 4032, height: 3024 } });
    expect(recognise(heicBytes(10, 10, 'mif1', ['mif1']))).toMatchObject({ mimeType: 'image/heif' });
    expect(recognise(heicBytes(10, 10, 'mif1', ['mif1', 'heic']))).toMatchObject({ mimeType: 'image/heic' });
  });

  it('a PDF, with its page count', () => {
    expect(recognise(pdfBytes(3))).toEqual({ kind: 'accepted', mimeType: 'application/pdf', family: 'pdf', facts: { pages: 3 } });
  });

  it('counts /Type/Page written without a space, and never the /Type /Pages node', () => {
    const pdf = Buffer.concat([pdfBytes(1).subarray(0, 15), text('1 0 obj <</Type/Page>> 2 0 obj <</Type /Pages /Kids[]>> <</Type\n/Page/Parent 2 0 R>>\n%%EOF\n')]);
    expect(recognise(pdf)).toMatchObject({ mimeType: 'application/pdf', facts: { pages: 2 } });
  });

  it('a WAV, with its duration', () => {
    expect(recognise(wavBytes(2))).toEqual({ kind: 'accepted', mimeType: 'audio/wav', family: 'audio', facts: { durationSeconds: 2 } });
  });

  it('an MP3, with or without an ID3 tag, with its duration', () => {
    expect(recognise(mp3Bytes(20))).toMatchObject({ kind: 'accepted', mimeType: 'audio/mpeg', family: 'audio' });
    expect(duration(recognise(mp3Bytes(20)))).toBeCloseTo(20 * MP3_FRAME_SECONDS, 2);
    expect(duration(recognise(mp3Bytes(20, { id3: false })))).toBeCloseTo(20 * MP3_FRAME_SECONDS, 2);
  });

  it('an MP3 whose ID3 tag holds cover art larger than the head kept', () => {
    const coverArt = Buffer.alloc(200_000, 0x55);
    const size = coverArt.length;
    const syncsafe = [size >> 21, size >> 14, size >> 7, size].map((part) => part & 0x7f);
    const mp3 = Buffer.concat([Buffer.from('ID3\x03\x00\x00', 'latin1'), Buffer.from(syncsafe), coverArt, mp3Bytes(100, { id3: false })]);
    const recognition = recognise(mp3, 65_536);
    expect(recognition).toMatchObject({ mimeType: 'audio/mpeg' });
    expect(duration(recognition)).toBeCloseTo(100 * MP3_FRAME_SECONDS, 2);
  });

  it('an AAC stream (ADTS), told apart from MP3 by its layer bits', () => {
    const recognition = recognise(aacBytes(30));
    expect(recognition).toMatchObject({ kind: 'accepted', mimeType: 'audio/aac', family: 'audio' });
    expect(duration(recognition)).toBeCloseTo(30 * AAC_FRAME_SECONDS, 3);
  });

  it('an Ogg stream, with its duration from the last granule position', () => {
    expect(recognise(oggBytes(1.5))).toEqual({ kind: 'accepted', mimeType: 'audio/ogg', family: 'audio', facts: { durationSeconds: 1.5 } });
  });

  it('a FLAC, with its duration', () => {
    expect(recognise(flacBytes(2))).toEqual({ kind: 'accepted', mimeType: 'audio/flac', family: 'audio', facts: { durationSeconds: 2 } });
  });

  it('an AIFF, with its duration', () => {
    expect(recognise(aiffBytes(1))).toEqual({ kind: 'accepted', mimeType: 'audio/aiff', family: 'audio', facts: { durationSeconds: 1 } });
  });

  it('UTF-8 text, with or without a byte order mark', () => {
    const accepted = { kind: 'accepted', mimeType: 'text/plain', family: 'text', facts: {} };
    expect(recognise(text('# Notes\n\nCafé ☕, naïve résumé, 日本語\r\n\tindented\f'))).toEqual(accepted);
    expect(recognise(text('\ufeffa,b\n1,2\n'))).toEqual(accepted);
  });

  it('text that begins like a known binary signature is still text', () => {
    expect(recognise(text('MZ is the start of every Windows program.\n'))).toMatchObject({ mimeType: 'text/plain' });
    expect(recognise(text('BMW and Audi sales, 2024\n'))).toMatchObject({ mimeType: 'text/plain' });
  });
});

describe('refused files, named by what they are', () => {
  const refusal = (bytes: Buffer) => recognise(bytes);

  it('archives, executables and other formats Gemini does not read', () => {
    expect(refusal(zipBytes())).toEqual({ kind: 'refused', recognised: 'application/zip' });
    expect(refusal(exeBytes())).toEqual({ kind: 'refused', recognised: 'application/x-msdownload' });
    expect(refusal(Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'))).toEqual({ kind: 'refused', recognised: 'image/gif' });
    expect(refusal(Buffer.from('\x7fELF\x02\x01\x01\x00', 'latin1'))).toEqual({ kind: 'refused', recognised: 'application/x-executable' });
    expect(refusal(Buffer.from('\x1f\x8b\x08\x00\x00\x00\x00\x00', 'latin1'))).toEqual({ kind: 'refused', recognised: 'application/gzip' });
  });

  it('ISO media that is not a HEIF image: video, AVIF', () => {
    expect(refusal(heicBytes(10, 10, 'isom', ['isom', 'iso2', 'mp41']))).toEqual({ kind: 'refused', recognised: 'video/mp4' });
    expect(refusal(heicBytes(10, 10, 'qt  ', []))).toEqual({ kind: 'refused', recognised: 'video/quicktime' });
    expect(refusal(heicBytes(10, 10, 'avif', ['avif', 'mif1', 'miaf']))).toEqual({ kind: 'refused', recognised: 'image/avif' });
  });

  it('a Windows program renamed to .png is still a Windows program', () => {
    expect(finalType(recognise(exeBytes()), 'image/png', 'cat.png')).toEqual({ kind: 'refused', recognised: 'application/x-msdownload' });
  });

  it('a PNG without its end', () => {
    const png = pngBytes(32, 32);
    expect(refusal(png.subarray(0, png.length - 12))).toEqual({ kind: 'refused', recognised: 'a truncated PNG' });
  });

  it('a JPEG without its end, even when its EXIF thumbnail has one', () => {
    const exif = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), jpegBytes(8, 8)]);
    const jpeg = jpegBytes(64, 64, exif);
    expect(refusal(jpeg.subarray(0, jpeg.length - 2))).toEqual({ kind: 'refused', recognised: 'a truncated JPEG' });
  });

  it('a PDF without its %%EOF', () => {
    const pdf = pdfBytes(2);
    expect(refusal(pdf.subarray(0, pdf.length - 20))).toEqual({ kind: 'refused', recognised: 'a truncated PDF' });
  });

  it('text in another encoding than UTF-8', () => {
    expect(refusal(Buffer.from('caf\xe9 cr\xe8me\n', 'latin1'))).toEqual({ kind: 'refused', recognised: 'text that is not valid UTF-8' });
    // A character cut off at the very end.
    expect(refusal(text('café').subarray(0, 4))).toEqual({ kind: 'refused', recognised: 'text that is not valid UTF-8' });
  });

  it('text with a NUL or another control byte is binary', () => {
    expect(refusal(text('hello\0world'))).toEqual({ kind: 'refused', recognised: 'binary data of an unknown type' });
    expect(refusal(text('bell\x07'))).toEqual({ kind: 'refused', recognised: 'binary data of an unknown type' });
  });

  it('an empty file', () => {
    expect(recognise(Buffer.alloc(0))).toEqual({ kind: 'refused', recognised: 'an empty file' });
    expect(createTypeRecognizer().finish()).toEqual({ kind: 'refused', recognised: 'an empty file' });
  });
});

const samples: Record<string, Buffer> = {
  png: pngBytes(300, 200),
  jpeg: jpegBytes(40, 24, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), jpegBytes(8, 8)])),
  webp: webpBytes(),
  heic: heicBytes(),
  pdf: pdfBytes(4),
  wav: wavBytes(0.25),
  mp3: mp3Bytes(8),
  aac: aacBytes(8),
  ogg: oggBytes(0.5),
  flac: flacBytes(0.5),
  aiff: aiffBytes(0.25),
  zip: zipBytes(),
  exe: exeBytes(),
  text: text('naïve café ☕ 日本語 😀\n'.repeat(20)),
  latin1: Buffer.from('caf\xe9\n'.repeat(10), 'latin1'),
};

describe('chunks of any size give the same verdict', () => {
  it.each(Object.entries(samples))('%s pushed a byte at a time', (_, bytes) => {
    expect(recognise(bytes, 1)).toEqual(recognise(bytes));
  });

  it('a UTF-8 character split across chunks is whole again', () => {
    const euro = text('price: 5€\n');
    const split = euro.indexOf(0xe2) + 1; // inside the three bytes of €
    const recognizer = createTypeRecognizer();
    recognizer.push(euro.subarray(0, split));
    recognizer.push(euro.subarray(split, split + 1));
    recognizer.push(euro.subarray(split + 1));
    expect(recognizer.finish()).toMatchObject({ kind: 'accepted', mimeType: 'text/plain' });
  });

  it('any split of any sample', () => {
    const names = Object.keys(samples);
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.array(fc.nat(), { maxLength: 12 }), (name, cuts) => {
        const bytes = samples[name] as Buffer;
        const offsets = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
        const recognizer = createTypeRecognizer();
        let from = 0;
        for (const offset of [...offsets, bytes.length]) {
          recognizer.push(bytes.subarray(from, offset));
          from = offset;
        }
        expect(recognizer.finish()).toEqual(recognise(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...Object.values(samples)), fc.nat(), (noise, sample, at) => {
        // Real headers followed or cut by noise reach the parsers' edge cases.
        const cut = at % (sample.length + 1);
        expect(() => recognise(Buffer.concat([sample.subarray(0, cut), noise]), 7)).not.toThrow();
        expect(() => recognise(Buffer.from(noise))).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });
});

describe('the final type, given what the client declared and the name', () => {
  const png = recognise(pngBytes(10, 10));
  const jpeg = recognise(jpegBytes(10, 10));
  const mp3 = recognise(mp3Bytes(4));
  const plain = recognise(text('a,b\n1,2\n'));

  it('a declared type that contradicts the bytes refuses, naming what the bytes are', () => {
    expect(finalType(jpeg, 'image/png', 'photo.png')).toEqual({ kind: 'refused', recognised: 'image/jpeg' });
    expect(finalType(png, 'application/pdf', 'a.pdf')).toEqual({ kind: 'refused', recognised: 'image/png' });
  });

  it('no declared type, or application/octet-stream, claims nothing', () => {
    expect(finalType(png, undefined, 'x')).toEqual(png);
    expect(finalType(png, 'application/octet-stream', 'x.bin')).toEqual(png);
  });

  it('accepts the other names of a type, and ignores parameters and case', () => {
    expect(finalType(jpeg, 'image/jpg', 'a.jpg')).toEqual(jpeg);
    expect(finalType(mp3, 'audio/mp3', 'a.mp3')).toEqual(mp3);
    expect(finalType(recognise(wavBytes(0.1)), 'Audio/X-WAV; codecs=1', 'a.wav')).toMatchObject({ mimeType: 'audio/wav' });
    expect(finalType(recognise(heicBytes()), 'image/heif', 'a.heic')).toMatchObject({ mimeType: 'image/heic' });
  });

  it('text gets its subtype from the declared type, which wins over the extension', () => {
    expect(finalType(plain, 'text/csv; charset=utf-8', 'data.txt')).toMatchObject({ kind: 'accepted', mimeType: 'text/csv' });
    expect(finalType(plain, 'text/markdown', 'notes')).toMatchObject({ mimeType: 'text/markdown' });
    expect(finalType(plain, 'text/plain', 'notes.md')).toMatchObject({ mimeType: 'text/plain' });
  });

  it('or else from the extension', () => {
    expect(finalType(plain, undefined, 'README.md')).toMatchObject({ mimeType: 'text/markdown' });
    expect(finalType(plain, 'application/octet-stream', 'notes.markdown')).toMatchObject({ mimeType: 'text/markdown' });
    expect(finalType(plain, undefined, 'DATA.CSV')).toMatchObject({ mimeType: 'text/csv' });
    expect(finalType(plain, undefined, 'notes.txt')).toMatchObject({ mimeType: 'text/plain' });
  });

  it('source code and data declared by their own text types are kept as text', () => {
    expect(finalType(plain, 'text/x-python', 'script.py')).toMatchObject({ mimeType: 'text/plain' });
    expect(finalType(plain, 'application/json', 'data.json')).toMatchObject({ mimeType: 'text/plain' });
  });

  it('text declared as an image, or as HTML, refuses: the bytes are text/plain', () => {
    expect(finalType(plain, 'image/png', 'a.png')).toEqual({ kind: 'refused', recognised: 'text/plain' });
    expect(finalType(plain, 'text/html', 'page.html')).toEqual({ kind: 'refused', recognised: 'text/plain' });
  });

  it('names that are also object properties claim nothing special', () => {
    expect(finalType(plain, 'constructor', 'x.constructor')).toEqual({ kind: 'refused', recognised: 'text/plain' });
    expect(finalType(plain, undefined, 'x.__proto__')).toMatchObject({ mimeType: 'text/plain' });
    expect(finalType(png, '__proto__', 'x')).toEqual({ kind: 'refused', recognised: 'image/png' });
  });

  it('a refusal stays a refusal', () => {
    const zip = recognise(zipBytes());
    expect(finalType(zip, 'application/zip', 'a.zip')).toEqual(zip);
  });
});
