import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { startRecovery } from '../../src/modules/generation/recovery.js';
import { createScheduler } from '../../src/modules/generation/scheduling.js';
import { memoryReplyStore } from './fakes/reply-store.js';

function setUp() {
  const replies = memoryReplyStore();
  const enqueued: { id: string; priority: number }[] = [];
  const scheduler = createScheduler({ replies: replies.store, queue: { enqueue: (id, { priority }) => Promise.resolve(void enqueued.push({ id, priority })) } });
  return { replies, enqueued, scheduler };
}

describe('scheduling: order within a chatroom, fairness between users', () => {
  it('enqueues only a chatroom\'s oldest unfinished reply; the next one once it has finished', async () => {
    const { replies, enqueued, scheduler } = setUp();
    const first = replies.add({ chatroomId: 'room', role: 'model' });
    const second = replies.add({ chatroomId: 'room', role: 'model' });

    await scheduler.scheduleNext('room');
    await replies.store.endFailed(first.id, { code: 'X', message: 'x' }, new Date());
    await scheduler.scheduleNext('room');
    await replies.store.endFailed(second.id, { code: 'X', message: 'x' }, new Date());
    await scheduler.scheduleNext('room'); // nothing left: nothing enqueued

    expect(enqueued.map((job) => job.id)).toEqual([first.id, second.id]);
  });

  it('names the reply that blocks another, and none for the head', async () => {
    const { replies, scheduler } = setUp();
    const first = replies.add({ chatroomId: 'room', role: 'model' });
    const second = replies.add({ chatroomId: 'room', role: 'model' });
    expect((await scheduler.blockerOf(second))?.id).toBe(first.id);
    expect(await scheduler.blockerOf(first)).toBeUndefined();
  });

  it('puts a user\'s one waiting prompt ahead of the tail of someone else\'s burst', async () => {
    const { replies, enqueued, scheduler } = setUp();
    // A burst: one user asks in five chatrooms at once; then another user asks once.
    for (let i = 0; i < 5; i++) replies.add({ chatroomId: `burst-${i}`, role: 'model', userId: 'bursty' });
    replies.add({ chatroomId: 'calm', role: 'model', userId: 'calm' });
    for (let i = 0; i < 5; i++) await scheduler.scheduleNext(`burst-${i}`);
    await scheduler.scheduleNext('calm');

    const priorityOf = (index: number) => enqueued[index]?.priority;
    expect([0, 1, 2, 3, 4].map(priorityOf)).toEqual([1, 2, 3, 4, 5]);
    expect(priorityOf(5)).toBe(1); // level with the burst's first, ahead of its 2nd..5th
  });
});

describe('the recovery sweep', () => {
  it('schedules every chatroom with a reply left unfinished, page after page, each once', async () => {
    const { replies, enqueued, scheduler } = setUp();
    const heads = [];
    for (let i = 0; i < 7; i++) {
      heads.push(replies.add({ chatroomId: `room-${i}`, role: 'model' }).id);
      replies.add({ chatroomId: `room-${i}`, role: 'model' }); // waits behind its head
    }
    replies.add({ chatroomId: 'finished', role: 'model', status: 'done' });
    const recovery = startRecovery({ replies: replies.store, scheduler, clock: { now: () => new Date(0) }, log: pino({ level: 'silent' }), intervalSeconds: 3600, pageSize: 3 });
    recovery.stop();

    expect(await recovery.sweep(new Date(1))).toBe(7);
    // The sweep at start-up ran too: the same heads again, which the queue's job ids make harmless.
    expect([...new Set(enqueued.map((job) => job.id))].sort()).toEqual(heads.sort());
  });
});
