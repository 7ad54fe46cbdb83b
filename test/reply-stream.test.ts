import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/infra/logger.js';
import { closeRedis, createRedis } from '../src/infra/redis.js';
import { redisReplyStream, STREAM_START } from '../src/infra/reply-stream.js';
import { testMode } from './helpers/mode.js';
import { waitUntil } from './helpers/wait.js';

// The Redis reply stream's shared reader on its own (PostgreSQL + Redis mode: it is Redis's).
describe.runIf(testMode === 'services')('the shared reader of reply streams', () => {
  it('keeps one error listener on its connection however often its loop stops and starts again', async () => {
    const url = process.env.TEST_REDIS_URL ?? '';
    const prefix = `reader-test-${randomBytes(4).toString('hex')}:`;
    const redis = createRedis({ url, keyPrefix: prefix });
    const admin = new Redis(url);
    const stream = redisReplyStream(redis, createLogger('silent'), { blockMs: 50 });
    // Whether the reader is waiting in a blocking XREAD (CLIENT LIST flag `b`): its loop is running.
    const readerBlocked = async () =>
      String(await admin.client('LIST'))
        .split('\n')
        .some((line) => line.includes(`name=${prefix}reply-stream-reader`) && /\bflags=\S*b/.test(line));
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 12; i++) {
        const following = new AbortController();
        const reading = stream.read(`reply-${i}`, STREAM_START, following.signal);
        await reading.next(); // the backlog: the key is followed, the loop runs
        await waitUntil(readerBlocked, 'the reader waits in XREAD');
        following.abort();
        await reading.return(undefined);
        // Nobody follows anything now: the loop ends once its XREAD times out, and starts again next time.
        await waitUntil(async () => !(await readerBlocked()), 'the reader loop ended');
      }
    } finally {
      process.off('warning', onWarning);
      await stream.close();
      await closeRedis(redis);
      admin.disconnect();
    }
    expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning').map((warning) => warning.message)).toEqual([]);
  });
});
