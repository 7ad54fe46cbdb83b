/*
 * Whether a byte stream is text Gemini can read: valid UTF-8 without control characters other than
 * tab, line feed, carriage return and form feed. Checked as the chunks pass, so a character split
 * across two chunks is whole again (TextDecoder's `stream` mode keeps the partial sequence).
 */

export type TextVerdict = 'text' | 'not-utf8' | 'binary';

/** The C0 control bytes text must not have: all but tab, line feed, form feed and carriage return. */
const CONTROL_BYTES = Array.from({ length: 0x20 }, (_, byte) => byte).filter((byte) => ![0x09, 0x0a, 0x0c, 0x0d].includes(byte));

/**
 * One `indexOf` (memchr, vectorised) per control byte instead of a loop over every byte in
 * JavaScript: a quarter of the time on 20 MiB of text, which every text upload pays.
 */
function hasControlByte(chunk: Buffer): boolean {
  return CONTROL_BYTES.some((byte) => chunk.indexOf(byte) !== -1);
}

export class TextScanner {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private verdict: TextVerdict = 'text';

  push(chunk: Buffer): void {
    // Control bytes outrank invalid UTF-8: random binary is both, and is best called binary. Once
    // binary, nothing more can change the verdict, so the rest of a large image costs nothing here.
    if (this.verdict === 'binary') return;
    if (hasControlByte(chunk)) {
      this.verdict = 'binary';
      return;
    }
    if (this.verdict !== 'text') return;
    try {
      this.decoder.decode(chunk, { stream: true });
    } catch {
      this.verdict = 'not-utf8';
    }
  }

  /** The verdict on the whole stream: a multi-byte character cut off at the end is invalid UTF-8. */
  finish(): TextVerdict {
    if (this.verdict === 'text') {
      try {
        this.decoder.decode();
      } catch {
        this.verdict = 'not-utf8';
      }
    }
    return this.verdict;
  }
}
