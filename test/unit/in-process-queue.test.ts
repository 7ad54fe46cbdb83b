import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { FINISHED, JobInterrupted, type JobHandler, type JobVerdict } from '../../src/infra/queue/generation-queue.js';
import { createInProcessQueue } from '../../src/infra/queue/in-process-queue.js';
import { waitUntil } from '../helpers/wait.js';

const log = pino({ level: 'silent' });
const queueOf = (concurrency = 1) => createInProcessQueue({ concurrency, callsPerMinute: 1_000, log });

describe('the embedded queue carries out its handler\'s verdicts', () => {
  it('runs a retried job again as the next attempt, and a deferred one as the same attempt', async () => {
    const queue = queueOf();
    const runs: string[] = [];
    const verdicts: JobVerdict[] = [{ kind: 'defer', delayMs: 1 }, { kind: 'retry', delayMs: 1 }, FINISHED];
    queue.consume((id, run) => {
      runs.push(`${id}#${run.attempt}`);
      return Promise.resolve(verdicts.shift() ?? FINISHED);
    });
    await queue.enqueue('r1', { priority: 1 });
    await waitUntil(() => runs.length === 3, 'the job ran three times');
    expect(runs).toEqual(['r1#1', 'r1#1', 'r1#2']);
    expect(await queue.depth()).toEqual({ waiting: 0, active: 0, delayed: 0 });
    await queue.close();
  });

  it('runs lower priorities first and equal ones in the order enqueued; a live job id is enqueued once', async () => {
    const queue = queueOf();
    const order: string[] = [];
    await queue.enqueue('later', { priority: 3 });
    await queue.enqueue('sooner', { priority: 1 });
    await queue.enqueue('also-sooner', { priority: 1 });
    await queue.enqueue('sooner', { priority: 1 }); // a duplicate of a live job: no second run
    queue.consume((id) => Promise.resolve(void order.push(id)).then(() => FINISHED));
    await waitUntil(async () => (await queue.depth()).waiting === 0 && order.length >= 3, 'every job ran');
    expect(order).toEqual(['sooner', 'also-sooner', 'later']);
    await queue.close();
  });

  it('hands a job interrupted at shutdown back as it was, for the next consumer', async () => {
    const queue = queueOf();
    const runs: number[] = [];
    const first = queue.consume(
      (_id, run) =>
        new Promise((_resolve, reject) => {
          runs.push(run.attempt);
          run.signal.addEventListener('abort', () => reject(new JobInterrupted('shutting down')), { once: true });
        }),
    );
    await queue.enqueue('r1', { priority: 1 });
    await waitUntil(() => runs.length === 1, 'the first consumer took it');
    await first.close(0); // no grace: the run is aborted and its job handed back
    const second: JobHandler = (_id, run) => Promise.resolve(void runs.push(run.attempt)).then(() => FINISHED);
    queue.consume(second);
    await waitUntil(() => runs.length === 2, 'the next consumer ran it');
    expect(runs).toEqual([1, 1]);
    await queue.close();
  });

  it('drops a job whose handler crashed instead of running it forever (the recovery sweep owns it then)', async () => {
    const queue = queueOf();
    let runs = 0;
    queue.consume(() => {
      runs += 1;
      return Promise.reject(new Error('a bug'));
    });
    await queue.enqueue('r1', { priority: 1 });
    await waitUntil(async () => runs === 1 && (await queue.depth()).active === 0, 'the crash was handled');
    expect(await queue.depth()).toEqual({ waiting: 0, active: 0, delayed: 0 });
    // Dropped, so the same id can be enqueued again (as the recovery sweep does).
    await queue.enqueue('r1', { priority: 1 });
    await waitUntil(() => runs === 2, 'it ran again once enqueued again');
    await queue.close();
  });
});
