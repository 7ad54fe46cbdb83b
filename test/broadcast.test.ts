import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { redisBroadcast } from '../src/infra/broadcast.js';
import { createLogger } from '../src/infra/logger.js';
import { closeRedis, createRedis } from '../src/infra/redis.js';
import { createRedisSubscriber } from '../src/infra/redis-subscriber.js';
import { testMode } from './helpers/mode.js';
import { waitUntil } from './helpers/wait.js';

// The Redis broadcast on its own (PostgreSQL + Redis mode: it is Redis's; embedded, delivery is a call).
describe.runIf(testMode === 'services')('the Redis broadcast', () => {
  it('is live only once Redis took every channel with a handler, one added later included, and then delivers to it', async () => {
    const url = process.env.TEST_REDIS_URL ?? '';
    const prefix = `broadcast-test-${randomBytes(4).toString('hex')}:`;
    const log = createLogger('silent');
    const [hereRedis, thereRedis] = [createRedis({ url, keyPrefix: prefix }), createRedis({ url, keyPrefix: prefix })];
    const [hereSubscriber, thereSubscriber] = [createRedisSubscriber(hereRedis, log), createRedisSubscriber(thereRedis, log)];
    const here = redisBroadcast(hereSubscriber, log);
    const there = redisBroadcast(thereSubscriber, log); // another process of the deployment
    try {
      const heard: string[] = [];
      here.subscribe('first', (message) => heard.push(`first:${message}`));
      expect(here.live).toBe(false);
      await waitUntil(() => here.live, 'the first channel is taken');

      here.subscribe('second', (message) => heard.push(`second:${message}`));
      // Not live until Redis acknowledges the new channel: a cache trusting it now could miss a message.
      expect(here.live).toBe(false);
      await waitUntil(() => here.live, 'the second channel is taken');

      await there.publish('second', 'hello');
      await there.publish('first', 'again');
      await waitUntil(() => heard.length === 2, 'both messages arrived');
      expect(heard).toEqual(['second:hello', 'first:again']);
    } finally {
      await here.close();
      await there.close();
      hereSubscriber.close();
      thereSubscriber.close();
      await closeRedis(hereRedis);
      await closeRedis(thereRedis);
    }
  });
});
