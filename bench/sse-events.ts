/**
 * The bench clients' reader of a text/event-stream that arrives in pieces (bench/load.ts,
 * bench/upload-load.ts): each piece in, the events it completed out, so that a client can stamp
 * each event with the moment its last byte was read. Enough for what this server writes
 * (src/http/sse.ts: `id:`, `event:`, one `data:` line, `: keep-alive` comments), not a full parser.
 */

export interface SseEvent {
  /** The `event:` field; `message` when the frame has none. */
  event: string;
  /** The `data:` lines, joined with newlines. */
  data: string;
}

export interface SseReader {
  /** Adds a piece of the body; answers the events whose frames it completed, in order. */
  push(piece: string): SseEvent[];
}

export function createSseReader(): SseReader {
  let buffered = '';
  return {
    push(piece) {
      buffered += piece;
      const events: SseEvent[] = [];
      let end;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const frame = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of frame.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice('event: '.length);
          else if (line.startsWith('data: ')) data.push(line.slice('data: '.length));
        }
        // A keep-alive comment (or a frame of only an id) carries no event.
        if (data.length > 0) events.push({ event, data: data.join('\n') });
      }
      return events;
    },
  };
}
