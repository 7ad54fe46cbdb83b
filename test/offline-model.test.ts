import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { signIn } from './helpers/factories.js';
import { createRoom, parseSse, pollUntilFinished, sendMessage, type Message } from './helpers/messages.js';

// With nothing configured the product still works end to end, on the offline stand-in.
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

type Exchange = { userMessage: Message; reply: Message };

describe('offline stand-in model (no GEMINI_API_KEY)', () => {
  it('replies by waiting, polling and streaming, and says plainly that it is offline', async () => {
    const user = await signIn(t);
    const room = await createRoom(t, user);

    const waited = await sendMessage(t, user, room, 'first question');
    expect(waited.statusCode).toBe(201);
    const reply = waited.json<Exchange>().reply;
    expect(reply.status).toBe('done');
    expect(reply.content).toContain('[offline stand-in]');
    expect(reply.content).toContain('first question');

    const polled = await sendMessage(t, user, room, 'second', { wait: false });
    expect(polled.statusCode).toBe(202);
    const final = await pollUntilFinished(t, user, room, polled.json<Exchange>().reply.id);
    expect(final.content).toContain('I was given 2 earlier turns');

    const streamed = await sendMessage(t, user, room, 'third', { headers: { accept: 'text/event-stream' } });
    const events = parseSse(streamed.body);
    expect(events.filter((e) => e.event === 'delta').length).toBeGreaterThan(5);
    const text = events.filter((e) => e.event === 'delta').map((e) => (e.data as { text: string }).text).join('');
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { content: text, status: 'done' } });
  });
});
