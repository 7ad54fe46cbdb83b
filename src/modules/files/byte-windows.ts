/*
 * Bounded views of a byte stream that arrives in chunks of any size. A recogniser keeps these, and
 * never the whole file: an upload may be tens of megabytes and is streamed to the store as it comes.
 */

/** The bytes of the stream in [start, start + capacity), as far as they have arrived. */
export class ByteWindow {
  private readonly bytes: Buffer;
  private filled = 0;

  constructor(
    readonly start: number,
    capacity: number,
  ) {
    this.bytes = Buffer.alloc(capacity);
  }

  /** `chunk` is the part of the stream that starts at `offset`; chunks arrive in order. */
  take(chunk: Buffer, offset: number): void {
    const from = Math.max(this.start + this.filled, offset);
    const to = Math.min(this.start + this.bytes.length, offset + chunk.length);
    if (to <= from) return;
    chunk.copy(this.bytes, from - this.start, from - offset, to - offset);
    this.filled = to - this.start;
  }

  get length(): number {
    return this.filled;
  }

  contents(): Buffer {
    return this.bytes.subarray(0, this.filled);
  }
}

/** The last `capacity` bytes of the stream, in a ring, so that small chunks cost no copying of the rest. */
export class TailWindow {
  private readonly ring: Buffer;
  private end = 0;
  private total = 0;

  constructor(capacity: number) {
    this.ring = Buffer.alloc(capacity);
  }

  take(chunk: Buffer): void {
    const capacity = this.ring.length;
    const piece = chunk.length > capacity ? chunk.subarray(chunk.length - capacity) : chunk;
    const untilWrap = Math.min(piece.length, capacity - this.end);
    piece.copy(this.ring, this.end, 0, untilWrap);
    piece.copy(this.ring, 0, untilWrap);
    this.end = (this.end + piece.length) % capacity;
    this.total += chunk.length;
  }

  contents(): Buffer {
    if (this.total < this.ring.length) return this.ring.subarray(0, this.total);
    return Buffer.concat([this.ring.subarray(this.end), this.ring.subarray(0, this.end)]);
  }
}
