/*
 * Follows a JPEG's marker segments as the chunks pass, for two facts: the frame's size (from the
 * first SOFn segment, wherever it is: phones put tens of kilobytes of EXIF, XMP and ICC data before
 * it) and whether the image's end marker (EOI) arrived. Segments are skipped by their length, so the
 * EOI of the EXIF thumbnail inside APP1 is not mistaken for the image's; bytes after the image's EOI
 * (the video of a "motion photo", a maker's trailer) do not make it look truncated.
 */

const SOS = 0xda;
const EOI = 0xd9;
const SOF_BYTES = 5; // precision, height (2), width (2)

// SOF0–SOF15 start a frame, except DHT (C4), JPG (C8) and DAC (CC), which share the range.
const isStartOfFrame = (marker: number): boolean =>
  marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
// Markers without a length: SOI, TEM and the restart markers.
const standsAlone = (marker: number): boolean => marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7);

type State = 'marker-ff' | 'marker-code' | 'length-high' | 'length-low' | 'segment' | 'entropy' | 'entropy-ff' | 'ended';

export class JpegScanner {
  private state: State = 'marker-ff';
  private marker = 0;
  private remaining = 0;
  private frameHeader: number[] = [];
  width: number | undefined;
  height: number | undefined;

  get ended(): boolean {
    return this.state === 'ended';
  }

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && this.state !== 'ended') {
      switch (this.state) {
        case 'marker-ff':
          // Anything but a marker where one must be: damaged structure. Look for the end marker only.
          this.state = chunk[i] === 0xff ? 'marker-code' : 'entropy';
          i += 1;
          break;
        case 'marker-code':
        case 'entropy-ff': {
          const code = chunk[i] as number;
          i += 1;
          if (code === 0xff) break; // fill bytes before a marker
          if (this.state === 'entropy-ff' && (code === 0x00 || (code >= 0xd0 && code <= 0xd7))) {
            this.state = 'entropy'; // a stuffed FF, or a restart marker inside the scan
            break;
          }
          this.onMarker(code);
          break;
        }
        case 'length-high':
          this.remaining = (chunk[i] as number) << 8;
          this.state = 'length-low';
          i += 1;
          break;
        case 'length-low':
          this.remaining = (this.remaining | (chunk[i] as number)) - 2;
          this.state = this.remaining < 0 ? 'entropy' : 'segment';
          i += 1;
          if (this.remaining === 0) this.endSegment();
          break;
        case 'segment': {
          const taken = Math.min(this.remaining, chunk.length - i);
          if (isStartOfFrame(this.marker) && this.width === undefined) {
            for (let k = i; k < i + taken && this.frameHeader.length < SOF_BYTES; k += 1) this.frameHeader.push(chunk[k] as number);
          }
          i += taken;
          this.remaining -= taken;
          if (this.remaining === 0) this.endSegment();
          break;
        }
        case 'entropy': {
          const ff = chunk.indexOf(0xff, i);
          if (ff < 0) return;
          this.state = 'entropy-ff';
          i = ff + 1;
          break;
        }
      }
    }
  }

  private onMarker(code: number): void {
    if (code === EOI) this.state = 'ended';
    else if (standsAlone(code)) this.state = 'marker-ff';
    else {
      this.marker = code;
      this.frameHeader = [];
      this.state = 'length-high';
    }
  }

  private endSegment(): void {
    const [, heightHigh, heightLow, widthHigh, widthLow] = this.frameHeader;
    if (isStartOfFrame(this.marker) && this.width === undefined && widthLow !== undefined) {
      const height = ((heightHigh as number) << 8) | (heightLow as number);
      const width = ((widthHigh as number) << 8) | widthLow;
      // A height of 0 is given later by a DNL marker: leave the size unknown rather than follow it.
      if (width > 0 && height > 0) {
        this.width = width;
        this.height = height;
      }
    }
    // After a scan's header comes its entropy-coded data, which has no lengths: look for markers in it.
    this.state = this.marker === SOS ? 'entropy' : 'marker-ff';
  }
}
