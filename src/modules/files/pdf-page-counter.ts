/*
 * Counts a PDF's page objects (`/Type /Page`, `/Type/Page`, any whitespace between, but not the
 * `/Type /Pages` nodes of the page tree) as the chunks pass: a state machine carries a match that a
 * chunk boundary cuts. Pages inside compressed object streams (PDF 1.5+) are not seen, so a count of
 * 0 means "unknown", not "empty".
 */

const SLASH = 0x2f;
const TYPE = Buffer.from('/Type');
const PAGE = Buffer.from('/Page');
const LETTER_T = 0x54;

const isWhitespace = (byte: number): boolean =>
  byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09 || byte === 0x0c || byte === 0x00;
// PDF's delimiters: a name ends at whitespace or at one of these.
const isDelimiter = (byte: number): boolean => '()<>[]{}/%'.includes(String.fromCharCode(byte));

type Phase = 'type' | 'space' | 'page' | 'after';

export class PdfPageCounter {
  private phase: Phase = 'type';
  private matched = 0;
  private count = 0;

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.phase === 'type' && this.matched === 0) {
        // Most of a PDF is other objects and stream data: jump to the next "/Type" instead of stepping through them.
        const found = chunk.indexOf(TYPE, i);
        if (found < 0) {
          // A "/Type" cut by the chunk's end is carried over by stepping through the last bytes.
          for (let k = Math.max(i, chunk.length - TYPE.length + 1); k < chunk.length; k += 1) this.step(chunk[k] as number);
          return;
        }
        this.phase = 'space';
        i = found + TYPE.length;
        continue;
      }
      this.step(chunk[i] as number);
      i += 1;
    }
  }

  /** Page objects found; 0 when none were visible. */
  finish(): number {
    if (this.phase === 'after') {
      this.count += 1;
      this.phase = 'type';
    }
    return this.count;
  }

  private step(byte: number): void {
    switch (this.phase) {
      case 'type':
        if (byte === TYPE[this.matched]) {
          this.matched += 1;
          if (this.matched === TYPE.length) this.phase = 'space';
        } else {
          this.matched = byte === SLASH ? 1 : 0;
        }
        return;
      case 'space':
        if (isWhitespace(byte)) return;
        if (byte === SLASH) {
          this.phase = 'page';
          this.matched = 1;
        } else {
          this.restartAt(byte);
        }
        return;
      case 'page':
        if (byte === PAGE[this.matched]) {
          this.matched += 1;
          if (this.matched === PAGE.length) this.phase = 'after';
        } else if (this.matched === 1 && byte === LETTER_T) {
          // "/Type/Type…": the slash that failed as "/Page" begins a new "/Type".
          this.phase = 'type';
          this.matched = 2;
        } else {
          this.restartAt(byte);
        }
        return;
      case 'after':
        // "/Page" must end here: "/Pages" (or any longer name) is not a page.
        if (isWhitespace(byte) || isDelimiter(byte)) this.count += 1;
        this.restartAt(byte);
        return;
    }
  }

  private restartAt(byte: number): void {
    this.phase = 'type';
    this.matched = byte === SLASH ? 1 : 0;
  }
}
