/** One Server-Sent Event as the API writes it: `id:`, `event:` and `data:` (JSON) lines, then a blank line. */
export interface ServerEvent {
  id: string | undefined;
  event: string;
  data: unknown;
}

/**
 * Reads Server-Sent Events from a fetch body (EventSource cannot send the Authorization header).
 * Comment lines (`: keep-alive`) are skipped; multi-line `data:` is joined with newlines, as the
 * SSE specification says.
 */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerEvent> {
  const reader = body.pipeThrough<string>(new TextDecoderStream() as TransformStream<Uint8Array, string>).getReader();
  let buffer = '';
  let id: string | undefined;
  let event = 'message';
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline: number;
      while ((newline = buffer.search(/\r?\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(buffer[newline] === '\r' ? newline + 2 : newline + 1);
        if (line === '') {
          if (data.length > 0) yield { id, event, data: JSON.parse(data.join('\n')) as unknown };
          event = 'message';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') id = text;
        else if (field === 'event') event = text;
        else if (field === 'data') data.push(text);
      }
    }
  } finally {
    // The reader stopped early (the page moved on): close the connection instead of leaving it open.
    reader.cancel().catch(() => undefined);
  }
}
