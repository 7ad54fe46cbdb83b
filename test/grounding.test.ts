import { describe, expect, it } from 'vitest';
import { withGeminiApp } from './helpers/gemini-app.js';
import { bearer, signIn, type SignedInUser } from './helpers/factories.js';
import { parseSse, pollUntilFinished, sendMessage, type Message } from './helpers/messages.js';
import { openSse } from './helpers/sse-client.js';
import { gate } from './helpers/wait.js';

const app = withGeminiApp({ GEMINI_TIMEOUT_MS: '5000', GEMINI_MODEL: 'gemini-2.5-flash', REPLY_WAIT_MS: '10000' }, { listen: true });

type Grounding = {
  queries: string[];
  sources: { uri: string; title: string }[];
  citations: { startIndex: number; endIndex: number; sourceIndices: number[] }[];
  searchEntryPoint: string | null;
};
type Room = { id: string; settings: { grounding: boolean } };
type Reply = Message & { grounding: Grounding | null; thoughts: string | null };
type Problem = { code: string; errors?: { path: string }[] };

const json = (user: SignedInUser, method: 'POST' | 'PATCH', url: string, body: unknown) =>
  app.t.request({ method, url, headers: { ...bearer(user.accessToken), 'content-type': 'application/json' }, payload: JSON.stringify(body) });

async function room(user: SignedInUser, settings: Record<string, unknown>): Promise<Room> {
  const res = await json(user, 'POST', '/chatroom', { settings });
  expect(res.statusCode).toBe(201);
  return res.json<Room>();
}

const utf8Length = (text: string) => Buffer.byteLength(text, 'utf8');

/** A cited answer in two chunks, with characters of two, three and four UTF-8 bytes before the cited sentence. */
const BEFORE = 'Crème brûlée — 🍮 is a dessert. ';
const CITED = 'It is made with custard and caramel.';
const ANSWER = `${BEFORE}${CITED}`;
const ENTRY_POINT = '<style>.c{color:red}</style><div class="c"><a href="https://www.google.com/search?q=creme+brulee">creme brulee</a></div>';

const groundingMetadata = (extra: Record<string, unknown> = {}) => ({
  webSearchQueries: ['creme brulee ingredients'],
  groundingChunks: [
    { web: { uri: 'https://example.org/desserts', title: 'Desserts of France' } },
    { web: { uri: 'https://example.com/custard', title: 'Custard, explained' } },
  ],
  groundingSupports: [
    {
      // Gemini counts bytes of UTF-8: the sentence starts after BEFORE's bytes.
      segment: { startIndex: utf8Length(BEFORE), endIndex: utf8Length(ANSWER), text: CITED },
      groundingChunkIndices: [1, 0],
      confidenceScores: [0.9, 0.8],
    },
  ],
  searchEntryPoint: { renderedContent: ENTRY_POINT },
  ...extra,
});

describe('the grounding setting', () => {
  it('is off by default: no tools are sent and replies have no grounding', async () => {
    const user = await signIn(app.t);
    const plain = await room(user, {});
    expect(plain.settings.grounding).toBe(false);
    const res = await sendMessage(app.t, user, plain.id, 'Hello');
    expect(res.statusCode).toBe(201);
    expect(res.json<{ reply: Reply }>().reply.grounding).toBeNull();
    expect(app.gemini.requests[0]?.body).not.toHaveProperty('tools');
  });

  it('when on, sends Google Search as a tool; null puts the default (off) back', async () => {
    const user = await signIn(app.t);
    const grounded = await room(user, { grounding: true });
    expect(grounded.settings.grounding).toBe(true);
    expect((await sendMessage(app.t, user, grounded.id, 'News?')).statusCode).toBe(201);
    expect(app.gemini.requests[0]?.body.tools).toEqual([{ googleSearch: {} }]);

    const reset = await json(user, 'PATCH', `/chatroom/${grounded.id}`, { settings: { grounding: null } });
    expect(reset.statusCode).toBe(200);
    expect(reset.json<Room>().settings.grounding).toBe(false);
  });

  it('refuses a value that is not a boolean, naming the field, and changes nothing', async () => {
    const user = await signIn(app.t);
    const refused = await json(user, 'POST', '/chatroom', { settings: { grounding: 'yes' } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json<Problem>()).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(refused.json<Problem>().errors?.map((e) => e.path)).toContain('settings.grounding');

    const existing = await room(user, {});
    const patched = await json(user, 'PATCH', `/chatroom/${existing.id}`, { settings: { grounding: 1 } });
    expect(patched.statusCode).toBe(400);
    const after = await app.t.request({ method: 'GET', url: `/chatroom/${existing.id}`, headers: bearer(user.accessToken) });
    expect(after.json<Room>().settings.grounding).toBe(false);
  });
});

describe('a grounded reply', () => {
  it('keeps queries, sources, citations with UTF-16 offsets and the entry point; streamed once whole, before done', async () => {
    app.gemini.enqueue({ kind: 'reply', chunks: [BEFORE, CITED], groundingMetadata: groundingMetadata() });
    const user = await signIn(app.t);
    const grounded = await room(user, { grounding: true });

    const res = await sendMessage(app.t, user, grounded.id, 'What is crème brûlée?', { headers: { accept: 'text/event-stream' } });
    expect(res.statusCode).toBe(200);
    const events = parseSse(res.body);
    const kinds = events.map((e) => e.event);
    expect(kinds.filter((k) => k === 'grounding')).toHaveLength(1);
    expect(kinds.indexOf('grounding')).toBeGreaterThan(kinds.lastIndexOf('delta'));
    expect(kinds.indexOf('grounding')).toBeLessThan(kinds.indexOf('done'));
    const streamed = (events.find((e) => e.event === 'grounding')?.data as { grounding: Grounding }).grounding;

    const done = events.find((e) => e.event === 'done')?.data as Reply;
    const stored = (await pollUntilFinished(app.t, user, grounded.id, done.id)) as Reply;
    expect(stored.content).toBe(ANSWER);
    expect(stored.grounding).toEqual({
      queries: ['creme brulee ingredients'],
      sources: [
        { uri: 'https://example.org/desserts', title: 'Desserts of France' },
        { uri: 'https://example.com/custard', title: 'Custard, explained' },
      ],
      citations: [{ startIndex: BEFORE.length, endIndex: ANSWER.length, sourceIndices: [0, 1] }],
      searchEntryPoint: ENTRY_POINT,
    });
    // What a JavaScript client does with the offsets: the cited sentence, exactly.
    const [citation] = stored.grounding!.citations;
    expect(stored.content.slice(citation!.startIndex, citation!.endIndex)).toBe(CITED);
    expect(streamed).toEqual(stored.grounding);
    expect(done.grounding).toEqual(stored.grounding);
  });

  it('reaches a client that opens the stream after it finished, before done', async () => {
    app.gemini.enqueue({ kind: 'reply', chunks: [ANSWER], groundingMetadata: groundingMetadata() });
    const user = await signIn(app.t);
    const grounded = await room(user, { grounding: true });
    const reply = (await sendMessage(app.t, user, grounded.id, 'Tell me')).json<{ reply: Reply }>().reply;

    const res = await app.t.request({ method: 'GET', url: `/chatroom/${grounded.id}/messages/${reply.id}/stream`, headers: bearer(user.accessToken) });
    const kinds = parseSse(res.body).map((e) => e.event);
    expect(kinds).toEqual(['delta', 'grounding', 'done']);
  });

  it('travels in both exports: whole in JSON, as marks and numbered sources in Markdown', async () => {
    app.gemini.enqueue({ kind: 'reply', chunks: [ANSWER], groundingMetadata: groundingMetadata() });
    const user = await signIn(app.t);
    const grounded = await room(user, { grounding: true });
    expect((await sendMessage(app.t, user, grounded.id, 'Tell me')).statusCode).toBe(201);

    const exported = await app.t.request({ method: 'GET', url: `/chatroom/${grounded.id}/export?format=json`, headers: bearer(user.accessToken) });
    const messages = exported.json<{ messages: Reply[] }>().messages;
    expect(messages.at(-1)?.grounding?.sources).toHaveLength(2);

    const markdown = await app.t.request({ method: 'GET', url: `/chatroom/${grounded.id}/export?format=markdown`, headers: bearer(user.accessToken) });
    expect(markdown.body).toContain(`${CITED} [1][2]`);
    expect(markdown.body).toContain('Sources:\n\n1. [Desserts of France](<https://example.org/desserts>)\n2. [Custard, explained](<https://example.com/custard>)');
  });

  it('is bounded and safe whatever the metadata: 1,000 sources, script links, offsets past the text', async () => {
    const chunks = Array.from({ length: 1000 }, (_, i) => ({ web: { uri: `https://example.org/page/${i}`, title: `Page ${i}` } }));
    chunks.unshift({ web: { uri: 'javascript:alert(1)', title: 'Evil' } }, { web: { uri: 'data:text/html,<script>alert(1)</script>', title: 'Evil too' } });
    app.gemini.enqueue({
      kind: 'reply',
      chunks: [ANSWER],
      groundingMetadata: groundingMetadata({
        groundingChunks: chunks,
        groundingSupports: [
          // Past the end of the text: clamped to it.
          { segment: { startIndex: utf8Length(BEFORE), endIndex: 1_000_000 }, groundingChunkIndices: [2, 0] },
          // Entirely past the end: nothing left to cite.
          { segment: { startIndex: 500_000, endIndex: 600_000 }, groundingChunkIndices: [3] },
          // Only the dropped script links: no source left.
          { segment: { startIndex: 0, endIndex: 5 }, groundingChunkIndices: [0, 1] },
        ],
        webSearchQueries: Array.from({ length: 50 }, (_, i) => `query ${i}`),
      }),
    });
    const user = await signIn(app.t);
    const grounded = await room(user, { grounding: true });
    const res = await sendMessage(app.t, user, grounded.id, 'Everything');
    expect(res.statusCode).toBe(201);
    const { grounding, content } = res.json<{ reply: Reply }>().reply;
    expect(grounding!.sources).toHaveLength(50);
    expect(grounding!.sources.every((source) => source.uri.startsWith('https://example.org/page/'))).toBe(true);
    expect(grounding!.queries).toHaveLength(10);
    // Chunk 2 is the first kept source (index 0); chunk 0 was a script link.
    expect(grounding!.citations).toEqual([{ startIndex: BEFORE.length, endIndex: content.length, sourceIndices: [0] }]);
  });
});

describe('thoughts of a reply, beyond the answer', () => {
  it('keeps thoughts far larger than the answer, apart from it', async () => {
    const long = 'Considering every angle of the question. '.repeat(2_000);
    app.gemini.enqueue({ kind: 'reply', thoughts: [long], chunks: ['Yes.'] });
    const user = await signIn(app.t);
    const thinking = await room(user, { thinking: { budget: 1024, includeThoughts: true } });
    const reply = (await sendMessage(app.t, user, thinking.id, 'Well?')).json<{ reply: Reply }>().reply;
    expect(reply).toMatchObject({ content: 'Yes.', thoughts: long });
  });

  it('are kept when the reply is stopped mid-answer', async () => {
    const held = gate();
    app.gemini.enqueue({ kind: 'reply', thoughts: ['Planning the answer.'], chunks: ['Part one', ' part two'], holdAfter: { chunks: 1, until: held.promise } });
    const user = await signIn(app.t);
    const thinking = await room(user, { thinking: { budget: 1024, includeThoughts: true } });
    const reply = (await sendMessage(app.t, user, thinking.id, 'Go', { wait: false })).json<{ reply: Reply }>().reply;
    // Once a follower sees the first answer chunk, the worker holds the thoughts before it.
    const follower = await openSse(`${app.base}/chatroom/${thinking.id}/messages/${reply.id}/stream`, bearer(user.accessToken));
    await follower.until((events) => events.some((e) => e.event === 'delta'), 'the first answer chunk');
    follower.disconnect();

    const stopped = await app.t.request({ method: 'POST', url: `/chatroom/${thinking.id}/messages/${reply.id}/stop`, headers: bearer(user.accessToken) });
    held.open();
    expect(stopped.statusCode).toBe(200);
    const stored = (await pollUntilFinished(app.t, user, thinking.id, reply.id)) as Reply;
    expect(stored.finishReason).toBe('STOPPED');
    expect(stored.thoughts).toBe('Planning the answer.');
  });
});
