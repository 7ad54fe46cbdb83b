import { describe, expect, it } from 'vitest';
import { readEvents, type ServerEvent } from '../../web/src/event-stream.js';

/* How the chat page reads a reply's event stream (web/src/event-stream.ts), fed in arbitrary chunks as a network would. */

function body(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function read(stream: ReadableStream<Uint8Array>): Promise<ServerEvent[]> {
  const events: ServerEvent[] = [];
  for await (const event of readEvents(stream)) events.push(event);
  return events;
}

describe('reading server-sent events', () => {
  it('reads id, event and JSON data, and names an unnamed event "message"', async () => {
    expect(await read(body('id: 1\nevent: delta\ndata: {"text":"Hel"}\n\n', 'data: {"n":2}\n\n'))).toEqual([
      { id: '1', event: 'delta', data: { text: 'Hel' } },
      { id: '1', event: 'message', data: { n: 2 } },
    ]);
  });

  it('puts together an event split anywhere across chunks, a multi-byte character included', async () => {
    const text = 'id: 7\nevent: delta\ndata: {"text":"नमस्ते 👋"}\n\n';
    const bytes = new TextEncoder().encode(text);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 3) controller.enqueue(bytes.slice(i, i + 3));
        controller.close();
      },
    });
    expect(await read(stream)).toEqual([{ id: '7', event: 'delta', data: { text: 'नमस्ते 👋' } }]);
  });

  it('skips keep-alive comments and accepts CRLF line ends', async () => {
    expect(await read(body(': keep-alive\n\n', 'event: done\r\ndata: {"status":"done"}\r\n\r\n'))).toEqual([
      { id: undefined, event: 'done', data: { status: 'done' } },
    ]);
  });

  it('joins multi-line data with newlines, as the specification says', async () => {
    expect(await read(body('data: ["a",\ndata: "b"]\n\n'))).toEqual([{ id: undefined, event: 'message', data: ['a', 'b'] }]);
  });

  it('drops an event the connection cut before its blank line (it is sent again after the last id)', async () => {
    expect(await read(body('id: 1\ndata: {"text":"a"}\n\n', 'id: 2\ndata: {"text":"b"}\n'))).toEqual([{ id: '1', event: 'message', data: { text: 'a' } }]);
  });
});
