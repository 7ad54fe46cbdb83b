import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { executeRaw } from '../src/infra/db/raw-rows.js';
import { fold, parseSearch, toTsquery } from '../src/modules/search/search-query.js';
import { searchStatement } from '../src/modules/search/search.repository.js';
import { bearer, signIn, type SignedInUser } from './helpers/factories.js';
import { withGeminiApp } from './helpers/gemini-app.js';
import { createRoom, sendMessage } from './helpers/messages.js';

/*
 * GET /search in both modes: what it finds (prefix, accents, phrases, exclusions, titles, every
 * branch, replies), in what order and pages, and that no query text, however hostile, fails or
 * reaches another user's data.
 */

interface Hit {
  chatroomId: string;
  chatroomTitle: string;
  messageId: string | null;
  role: 'user' | 'model' | null;
  snippet: string;
  highlights: [number, number][];
  createdAt: string;
}
interface Page {
  items: Hit[];
  nextCursor: string | null;
}

const g = withGeminiApp({ AUTO_TITLE: 'false', BASIC_DAILY_LIMIT: '10000', REPLY_WAIT_MS: '10000' });

async function search(user: SignedInUser, q: string, extra: Record<string, string> = {}) {
  const query = new URLSearchParams({ q, ...extra }).toString();
  return g.t.request({ method: 'GET', url: `/search?${query}`, headers: bearer(user.accessToken) });
}

async function hits(user: SignedInUser, q: string): Promise<Hit[]> {
  const res = await search(user, q, { limit: '100' });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Page>().items;
}

async function say(user: SignedInUser, room: string, content: string, reply = 'Noted.') {
  g.gemini.enqueue({ kind: 'reply', chunks: [reply] });
  const res = await sendMessage(g.t, user, room, content);
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ userMessage: { id: string }; reply: { id: string } }>();
}

async function titled(user: SignedInUser, title: string) {
  const room = await createRoom(g.t, user);
  const res = await g.t.request({
    method: 'PATCH',
    url: `/chatroom/${room}`,
    headers: { ...bearer(user.accessToken), 'content-type': 'application/json' },
    payload: JSON.stringify({ title }),
  });
  expect(res.statusCode).toBe(200);
  return room;
}

const highlighted = (hit: Hit) => hit.highlights.map(([start, end]) => hit.snippet.slice(start, end));

describe('GET /search finds', () => {
  it('words by prefix, whatever their case and accents, all of them, in prompts and replies', async () => {
    const alice = await signIn(g.t);
    const room = await createRoom(g.t, alice);
    const planning = await say(alice, room, 'We are PLANNING the Crème Brûlée festival in Zürich', 'A naïve plan: book the café early.');
    await say(alice, room, 'Unrelated: the weather is nice');

    const byPrefix = await hits(alice, 'plan');
    expect(byPrefix.map((hit) => hit.messageId).sort()).toEqual([planning.userMessage.id, planning.reply.id].sort());
    expect(byPrefix.find((hit) => hit.messageId === planning.reply.id)?.role).toBe('model');

    const folded = await hits(alice, 'creme brulee zurich');
    expect(folded.map((hit) => hit.messageId)).toEqual([planning.userMessage.id]);
    expect(highlighted(folded[0] as Hit)).toEqual(['Crème', 'Brûlée', 'Zürich']);
    expect(await hits(alice, 'CRÈME')).toHaveLength(1);
    expect(await hits(alice, 'naive cafe')).toHaveLength(1);

    // Every word must match.
    expect(await hits(alice, 'planning weather')).toEqual([]);
  });

  it('"quoted phrases" as phrases, and -word excludes by prefix (phrases too)', async () => {
    const alice = await signIn(g.t);
    const room = await createRoom(g.t, alice);
    const quick = await say(alice, room, 'the quick brown fox jumps');
    const reversed = await say(alice, room, 'brown quick fox, reversed');

    expect((await hits(alice, '"quick brown"')).map((hit) => hit.messageId)).toEqual([quick.userMessage.id]);
    expect((await hits(alice, 'fox -revers')).map((hit) => hit.messageId)).toEqual([quick.userMessage.id]);
    expect((await hits(alice, 'fox -"quick brown"')).map((hit) => hit.messageId)).toEqual([reversed.userMessage.id]);
    // Exclusions alone look for nothing.
    expect(await hits(alice, '-fox')).toEqual([]);
  });

  it('chatroom titles (messageId null, the title as snippet) and messages of every branch, and forgets a deleted chatroom', async () => {
    const alice = await signIn(g.t);
    const room = await titled(alice, 'Holiday itinerary for Lisbon');
    const first = await say(alice, room, 'Lisbon trams and tiles');
    // An edit of the first prompt: a new branch; the first one is no longer on screen.
    g.gemini.enqueue({ kind: 'reply', chunks: ['Porto it is.'] });
    const edit = await g.t.request({
      method: 'POST',
      url: `/chatroom/${room}/message`,
      headers: { ...bearer(alice.accessToken), 'content-type': 'application/json' },
      payload: JSON.stringify({ content: 'Porto instead of Lisbon', parentId: null }),
    });
    expect(edit.statusCode).toBe(201);

    const found = await hits(alice, 'lisbon');
    const title = found.find((hit) => hit.messageId === null);
    expect(title).toMatchObject({ chatroomId: room, chatroomTitle: 'Holiday itinerary for Lisbon', role: null, snippet: 'Holiday itinerary for Lisbon' });
    expect(highlighted(title as Hit)).toEqual(['Lisbon']);
    expect(found.map((hit) => hit.messageId)).toContain(first.userMessage.id);
    expect(found.map((hit) => hit.messageId)).toContain(edit.json<{ userMessage: { id: string } }>().userMessage.id);
    expect(found.every((hit) => hit.chatroomId === room && hit.chatroomTitle === 'Holiday itinerary for Lisbon')).toBe(true);

    const deleted = await g.t.request({ method: 'DELETE', url: `/chatroom/${room}`, headers: bearer(alice.accessToken) });
    expect(deleted.statusCode).toBe(204);
    expect(await hits(alice, 'lisbon')).toEqual([]);
    // Nothing of the chatroom's is left behind in the search table (a delete trigger, not a cascade, removes it).
    const left = await executeRaw(g.t.container.database.db, sql`select count(*)::int as n from message_search where user_id = ${alice.id}`);
    expect(left[0]?.n).toBe(0);
  });

  it('a short plain-text snippet around the match of a long message, highlights on the matched words', async () => {
    const alice = await signIn(g.t);
    const room = await createRoom(g.t, alice);
    const filler = 'lorem ipsum dolor sit amet '.repeat(40);
    await say(alice, room, `${filler}\n\n<b>the needle</b> 🧵 is here\n${filler}`);
    const [hit] = await hits(alice, 'needl');
    expect(hit).toBeDefined();
    const { snippet, highlights } = hit as Hit;
    expect(snippet.length).toBeLessThanOrEqual(200);
    expect(snippet).toContain('<b>the needle</b> 🧵 is here'); // text as it is: the client shows it as text
    expect(snippet).not.toContain('\n');
    expect(highlighted(hit as Hit)).toEqual(['needle']);
    for (const [start, end] of highlights) expect(fold(snippet.slice(start, end)).startsWith('needl')).toBe(true);
  });
});

describe('GET /search orders and pages', () => {
  it('best match first, newer first among equals, and cursors walk every hit once', async () => {
    const alice = await signIn(g.t);
    const room = await createRoom(g.t, alice);
    const { db } = g.t.container.database;
    // 30 equal matches at distinct times and one that mentions the word three times.
    await db.execute(sql`insert into messages (chatroom_id, user_id, role, content, status, created_at, updated_at)
      select ${room}, ${alice.id}, 'user', 'a zebra crossing number ' || i, 'done', now() - make_interval(mins => i), now()
      from generate_series(1, 30) i`);
    await db.execute(sql`insert into messages (chatroom_id, user_id, role, content, status, created_at, updated_at)
      values (${room}, ${alice.id}, 'user', 'zebra zebra zebra: the oldest of all', 'done', now() - interval '1 day', now())`);

    const whole = await hits(alice, 'zebra');
    expect(whole).toHaveLength(31);
    expect(whole[0]?.snippet).toBe('zebra zebra zebra: the oldest of all');
    const equals = whole.slice(1).map((hit) => hit.createdAt);
    expect(equals).toEqual([...equals].sort().reverse());

    const walked: Hit[] = [];
    let cursor: string | null = null;
    do {
      const res = await search(alice, 'zebra', { limit: '7', ...(cursor ? { cursor } : {}) });
      expect(res.statusCode).toBe(200);
      const page = res.json<Page>();
      walked.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(walked.map((hit) => hit.messageId)).toEqual(whole.map((hit) => hit.messageId));
  });
});

describe('GET /search refuses and resists', () => {
  const hostile = [
    'a & b | !c',
    ':*',
    'foo:*',
    '"unmatched quote',
    'unmatched" quote"',
    '\\',
    "\\' or 1=1 --",
    "'; drop table messages; --",
    '!!!',
    '<->',
    'a <-> b',
    '(((',
    '&&&|||',
    "''''",
    '"""',
    '- - -',
    '-',
    '--secret',
    '\u0000nul',
    '\ud800 lone surrogate',
    'secret\tline\nbreak',
    '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'.repeat(7).slice(0, 200),
    'x'.repeat(200),
  ];

  it('never fails, whatever the query text, and never finds another user\'s data', async () => {
    const alice = await signIn(g.t);
    const bob = await signIn(g.t);
    const bobRoom = await titled(bob, 'secret a b c x foo quote');
    await say(bob, bobRoom, "secret a & b | !c foo:* \"unmatched quote \\ ' or 1=1 -- drop table messages nul lone surrogate line break", 'secret reply');
    const aliceRoom = await createRoom(g.t, alice);
    await say(alice, aliceRoom, 'alice has a line of her own');

    for (const q of hostile) {
      const res = await search(alice, q);
      expect(res.statusCode, `${JSON.stringify(q)}: ${res.body}`).toBe(200);
      const page = res.json<Page>();
      expect(page.items.every((hit) => hit.chatroomId === aliceRoom), JSON.stringify(q)).toBe(true);
      expect(res.body).not.toContain('secret');
    }
    // Bob finds his own with the same words.
    expect((await hits(bob, 'secret')).length).toBeGreaterThan(0);
    expect((await hits(bob, 'a & b | !c')).length).toBeGreaterThan(0);
  });

  it('any text up to 200 characters: 200 and the caller\'s own hits only', async () => {
    const alice = await signIn(g.t);
    const bob = await signIn(g.t);
    const bobRoom = await titled(bob, 'Bob shares nothing');
    await say(bob, bobRoom, 'every letter a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9 é ß 中 🙂');
    const aliceRoom = await titled(alice, 'Alice a b c');
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 200, unit: fc.constantFrom('a', 'b', 'é', ' ', '-', '"', "'", '\\', ':', '*', '&', '|', '!', '(', ')', '<', '>', '中', '🙂', '\u0000') }), async (q) => {
        const res = await search(alice, q);
        expect(res.statusCode, JSON.stringify(q)).toBe(200);
        expect(res.json<Page>().items.every((hit) => hit.chatroomId === aliceRoom)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('the owner is a condition of the index scan: the plan reads one partition of message_search, by its GIN index with user_id in its Index Cond', async () => {
    const alice = await signIn(g.t);
    const room = await createRoom(g.t, alice);
    await say(alice, room, 'an indexed prompt');
    const statement = searchStatement(alice.id, toTsquery(parseSearch('indexed')) ?? '', 21);
    // The table is tiny here: a sequential scan, or the primary key's (user_id, message_id), would be
    // cheaper than the GIN index. So alice gets 2,000 rows the query does not match (the statistics
    // then say the words narrow her rows, as with a real user), and sequential scans are off.
    const plan = await g.t.container.database.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`);
      await tx.execute(sql`insert into message_search (message_id, user_id, created_at, vector)
        select gen_random_uuid(), ${alice.id}, now(), to_tsvector('chat_search', 'filler ' || g) from generate_series(1, 2000) g`);
      await tx.execute(sql`analyze message_search`);
      const lines = (await executeRaw(tx, sql`explain ${statement}`)).map((row) => String(row['QUERY PLAN']));
      await tx.execute(sql`delete from message_search where user_id = ${alice.id} and vector @@ to_tsquery('chat_search', 'filler')`);
      return lines.join('\n');
    });
    // One partition of the 64, the owner's: the others are pruned before the scan.
    expect(new Set(plan.match(/message_search_p\d\d\b/g))).toHaveLength(1);
    expect(plan).toMatch(/Bitmap Index Scan on message_search_p\d\d_user_id_vector_idx[^\n]*\n\s+Index Cond: \(\(user_id = '[0-9a-f-]+'::uuid\) AND \(vector @@/);
    // Titles: an index led by the owner either way (a user's few chatrooms may be read by the btree of their list).
    expect(plan).toMatch(/Bitmap Index Scan on chatrooms_(title_search|user_created)_idx[^\n]*\n\s+Index Cond: \(+user_id = '[0-9a-f-]+'::uuid\)/);
  });

  it('400 VALIDATION_FAILED for an empty or too long q, a bad limit and a cursor it did not issue', async () => {
    const alice = await signIn(g.t);
    const bad = [
      '/search',
      '/search?q=',
      `/search?q=${'x'.repeat(201)}`,
      '/search?q=x&limit=0',
      '/search?q=x&limit=101',
      '/search?q=x&cursor=not-a-cursor',
      `/search?q=x&cursor=${Buffer.from(JSON.stringify(['1e-400', '2026-12-05T10:00:00.000000Z', '00000000-0000-4000-8000-000000000000'])).toString('base64url')}`,
      `/search?q=x&cursor=${Buffer.from(JSON.stringify(['0.1', '2026-13-45T10:00:00.000000Z', '00000000-0000-4000-8000-000000000000'])).toString('base64url')}`,
      `/search?q=x&cursor=${Buffer.from(JSON.stringify(['0.1', '2026-12-05T10:00:00.000000Z', 'nope'])).toString('base64url')}`,
    ];
    for (const url of bad) {
      const res = await g.t.request({ method: 'GET', url, headers: bearer(alice.accessToken) });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().code, url).toBe('VALIDATION_FAILED');
    }
    const unauthenticated = await g.t.request({ method: 'GET', url: '/search?q=x' });
    expect(unauthenticated.statusCode).toBe(401);
  });
});
