import { describe, expect, it } from 'vitest';
import { createSseReader } from '../../bench/sse-events.js';

/* The bench clients' event-stream reader: what the streaming and upload scenarios count rests on it. */

describe('bench SSE reader', () => {
  it('gives each event once its frame is whole, however the body is cut, and skips keep-alives', () => {
    const body = 'id: 1\nevent: message\ndata: {"a":1}\n\n: keep-alive\n\nid: 2\nevent: delta\ndata: {"text":"hi"}\n\ndata: plain\n\nevent: done\ndata: {}\n\n';
    for (let cut = 0; cut <= body.length; cut++) {
      const reader = createSseReader();
      const events = [...reader.push(body.slice(0, cut)), ...reader.push(body.slice(cut))];
      expect(events, `cut at ${cut}`).toEqual([
        { event: 'message', data: '{"a":1}' },
        { event: 'delta', data: '{"text":"hi"}' },
        { event: 'message', data: 'plain' },
        { event: 'done', data: '{}' },
      ]);
    }
  });

  it('holds back a frame until its blank line arrives', () => {
    const reader = createSseReader();
    expect(reader.push('event: delta\ndata: {"text":"a"}\n')).toEqual([]);
    expect(reader.push('\n')).toEqual([{ event: 'delta', data: '{"text":"a"}' }]);
  });
});
