import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { Grounding } from '../integrations/gemini/grounding.js';

/** What the worker tells readers of a reply while it is generated. */
export type ReplyEvent =
  | { type: 'delta'; text: string }
  /** Thought-summary text (includeThoughts), apart from the answer's deltas. */
  | { type: 'thought'; text: string }
  /** Where the answer came from (Google Search), once it is whole. */
  | { type: 'grounding'; grounding: Grounding }
  /** A new attempt starts over: drop the text received so far. */
  | { type: 'reset' }
  /**
   * The reply is finished (done, failed, stopped or deleted). `final` is the reply as its writer
   * stored it (JSON), when it had it; otherwise readers read it from the database.
   */
  | { type: 'end'; final?: unknown };

/** An event and its position in the reply's stream; positions order events and resume a reader. */
export interface ReplyStreamEntry {
  id: string;
  event: ReplyEvent;
}

/** The position before the first event. */
export const STREAM_START = '0-0';

/** Positions look like Redis stream ids (`<ms>-<seq>`) in both drivers. */
export const isStreamPosition = (value: string) => /^\d{1,20}-\d{1,20}$/.test(value);

/** Orders two positions (negative, zero, positive). */
export function comparePositions(a: string, b: string): number {
  const [aMs = '0', aSeq = '0'] = a.split('-');
  const [bMs = '0', bSeq = '0'] = b.split('-');
  const byMs = BigInt(aMs) - BigInt(bMs);
  if (byMs !== 0n) return byMs < 0n ? -1 : 1;
  const bySeq = BigInt(aSeq) - BigInt(bSeq);
  return bySeq === 0n ? 0 : bySeq < 0n ? -1 : 1;
}

/**
 * Per-reply event log. Readers start after any position (the start, or the last event a client
 * saw), so a client that joins late or reconnects misses nothing and gets nothing twice.
 * Redis streams in production; in-process embedded.
 */
export interface ReplyStream {
  /** Appends an event; resolves with its position. */
  append(replyId: string, event: ReplyEvent): Promise<string>;
  /** The events after `after` that are there now. */
  range(replyId: string, after: string): Promise<ReplyStreamEntry[]>;
  /**
   * Batches of events after `after`: first whatever is there (possibly empty), then live ones as
   * they come, until `signal` aborts. Readers decide when an `end` ends their reading.
   */
  read(replyId: string, after: string, signal: AbortSignal): AsyncGenerator<ReplyStreamEntry[]>;
  close(): Promise<void>;
}

/** How long a finished reply's stream stays readable (late joiners, reconnects). */
const RETAIN_AFTER_END_SECONDS = 300;
/** A stream nobody finishes (a worker killed for good) still goes away eventually. */
const RETAIN_UNFINISHED_SECONDS = 24 * 3600;
const MAX_ENTRIES = 10_000;

/** A pushed queue of batches that an async generator drains; what every reader is built on. */
class BatchInbox {
  private batches: ReplyStreamEntry[][] = [];
  private wake: (() => void) | undefined;

  push(batch: ReplyStreamEntry[]) {
    this.batches.push(batch);
    this.wake?.();
  }

  async *drain(after: string, signal: AbortSignal): AsyncGenerator<ReplyStreamEntry[]> {
    let last = after;
    const onAbort = () => this.wake?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        const batch = this.batches.shift();
        if (!batch) {
          await new Promise<void>((resolve) => (this.wake = resolve));
          this.wake = undefined;
          continue;
        }
        // Entries may arrive twice (backlog and live overlap): positions drop the repeats.
        const fresh = batch.filter((entry) => comparePositions(entry.id, last) > 0);
        const newest = fresh.at(-1);
        if (newest) {
          last = newest.id;
          yield fresh;
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}

const parseEntries = (entries: [string, string[]][]): ReplyStreamEntry[] =>
  entries.map(([id, fields]) => ({ id, event: JSON.parse(fields[1] ?? '{}') as ReplyEvent }));

/**
 * Redis: a stream per reply, and ONE reader connection per process for all its listeners: a single
 * blocking XREAD over every followed key, fanned out in memory. Whatever the number of listeners,
 * the process holds one extra Redis connection for reading.
 */
export function redisReplyStream(redis: Redis, log: FastifyBaseLogger, options: { blockMs?: number } = {}): ReplyStream {
  const blockMs = options.blockMs ?? 5_000;
  const prefix = redis.options.keyPrefix ?? '';
  const key = (replyId: string) => `reply:${replyId}`;
  // Adding a key must interrupt the XREAD in progress: the reader also waits on a private stream
  // that a new listener writes to.
  const wakeKey = `reply-reader-wake:${randomUUID()}`;

  interface Followed {
    cursor: string;
    inboxes: Set<BatchInbox>;
  }
  const followed = new Map<string, Followed>(); // by key (without prefix)
  let reader: Redis | undefined;
  let loop: Promise<void> | undefined;
  let wakeCursor = '$';
  let closed = false;

  const wake = () =>
    redis
      .multi()
      .xadd(wakeKey, 'MAXLEN', '1', '*', 'w', '1')
      .expire(wakeKey, 3600)
      .exec()
      .catch((error: unknown) => log.warn({ err: error }, 'could not wake the reply stream reader'));

  async function readLoop(connection: Redis) {
    while (!closed && followed.size > 0) {
      const keys = [...followed.keys()];
      const cursors = keys.map((k) => followed.get(k)?.cursor ?? STREAM_START);
      let result: [string, [string, string[]][]][] | null;
      try {
        result = (await connection.xread('COUNT', 1000, 'BLOCK', blockMs, 'STREAMS', wakeKey, ...keys, wakeCursor, ...cursors));
      } catch (error) {
        if (closed) return;
        log.warn({ err: error }, 'reply stream reader failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      for (const [fullKey, entries] of result ?? []) {
        const name = fullKey.startsWith(prefix) ? fullKey.slice(prefix.length) : fullKey;
        const lastId = entries.at(-1)?.[0];
        if (name === wakeKey) {
          if (lastId) wakeCursor = lastId;
          continue;
        }
        const state = followed.get(name);
        if (!state || !lastId) continue;
        state.cursor = lastId;
        const batch = parseEntries(entries);
        for (const inbox of state.inboxes) inbox.push(batch);
      }
    }
  }

  // The read loop serves every follower, so it runs in none's async context: started in the context of
  // the request that first followed, its reads would go on adding spans to that request's trace.
  const outsideAnyRequest = AsyncLocalStorage.snapshot();

  function ensureLoop() {
    if (loop || closed) return;
    outsideAnyRequest(startLoop);
  }

  function startLoop() {
    // The blocking read outlasts the shared client's command timeout by design: give it its own bound.
    if (!reader) {
      reader = redis.duplicate({ connectionName: `${prefix}reply-stream-reader`, enableAutoPipelining: false, maxRetriesPerRequest: null, commandTimeout: blockMs + 5_000 });
      // Once, with the connection: the loop restarts whenever followers come back, the connection stays.
      reader.on('error', (error) => log.warn({ err: error }, 'reply stream reader connection error'));
    }
    const connection = reader;
    loop = readLoop(connection).finally(() => {
      loop = undefined;
      if (!closed && followed.size > 0) ensureLoop();
    });
  }

  const range = async (replyId: string, after: string) =>
    parseEntries((await redis.xrange(key(replyId), `(${after}`, '+')));

  return {
    async append(replyId, event) {
      // Sent together (one write, in order on the one connection): the expiry applies to the key the XADD made.
      const [id] = await Promise.all([
        redis.xadd(key(replyId), 'MAXLEN', '~', String(MAX_ENTRIES), '*', 'e', JSON.stringify(event)),
        redis.expire(key(replyId), event.type === 'end' ? RETAIN_AFTER_END_SECONDS : RETAIN_UNFINISHED_SECONDS),
      ]);
      return id ?? STREAM_START;
    },
    range,
    async *read(replyId, after, signal) {
      if (signal.aborted) return;
      const name = key(replyId);
      const inbox = new BatchInbox();
      let state = followed.get(name);
      if (!state) {
        state = { cursor: after, inboxes: new Set() };
        followed.set(name, state);
        ensureLoop();
        void wake();
      }
      state.inboxes.add(inbox);
      try {
        // Registered first, then the backlog: an event lands in one or the other (or both).
        const backlog = await range(replyId, after);
        yield backlog;
        yield* inbox.drain(backlog.at(-1)?.id ?? after, signal);
      } finally {
        state.inboxes.delete(inbox);
        if (state.inboxes.size === 0 && followed.get(name) === state) followed.delete(name);
      }
    },
    async close() {
      closed = true;
      followed.clear();
      reader?.disconnect();
      await loop?.catch(() => undefined);
    },
  };
}

/** Embedded: the same contract in memory, for one process. */
export function memoryReplyStream(): ReplyStream {
  const logs = new Map<string, ReplyStreamEntry[]>();
  const appended = new EventEmitter();
  appended.setMaxListeners(0);
  let counter = 0;
  const logOf = (replyId: string) => {
    let log = logs.get(replyId);
    if (!log) logs.set(replyId, (log = []));
    return log;
  };
  const after = (replyId: string, position: string) => (logs.get(replyId) ?? []).filter((entry) => comparePositions(entry.id, position) > 0);

  return {
    append(replyId, event) {
      const entry = { id: `0-${++counter}`, event };
      logOf(replyId).push(entry);
      appended.emit(replyId, entry);
      if (event.type === 'end') setTimeout(() => logs.delete(replyId), RETAIN_AFTER_END_SECONDS * 1000).unref();
      return Promise.resolve(entry.id);
    },
    range: (replyId, position) => Promise.resolve(after(replyId, position)),
    async *read(replyId, position, signal) {
      if (signal.aborted) return;
      const inbox = new BatchInbox();
      const onAppend = (entry: ReplyStreamEntry) => inbox.push([entry]);
      appended.on(replyId, onAppend); // listening before reading: nothing slips between
      try {
        const backlog = after(replyId, position);
        yield backlog;
        yield* inbox.drain(backlog.at(-1)?.id ?? position, signal);
      } finally {
        appended.off(replyId, onAppend);
      }
    },
    close: () => Promise.resolve(),
  };
}

