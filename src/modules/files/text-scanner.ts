/*
 * Whether a byte stream is text Gemini can read: valid UTF-8 without control characters other than
 * tab, line feed, carriage return and form feed. Checked as the chunks pass, so a character split
 * across two chunks is whole again (TextDecoder's `stream` mode keeps the partial sequence).
 */

export type TextVerdict = 'text' | 'not-utf8' | 'binary';

const TAB = 0x09;
const LINE_FEED = 0x0a;
const FORM_FEED = 0x0c;
const CARRIAGE_RETURN = 0x0d;

function hasControlByte(chunk: Buffer): boolean {
  for (let i = 0; i < chunk.length; i += 1) {
    const byte = chunk[i] as number;
    if (byte < 0x20 && byte !== TAB && byte !== LINE_FEED && byte !== FORM_FEED && byte !== CARRIAGE_RETURN) return true;
  }
  return false;
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
