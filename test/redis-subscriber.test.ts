import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { redisBroadcast } from '../src/infra/broadcast.js';
import { createLogger } from '../src/infra/logger.js';
import { closeRedis, createRedis } from '../src/infra/redis.js';
import { channelName, createRedisSubscriber, type RedisSubscriber } from '../src/infra/redis-subscriber.js';
import { redisStopSignals } from '../src/infra/stop-signals.js';
import { testMode } from './helpers/mode.js';
import { startTcpProxy, targetOf, type TcpProxy } from './helpers/tcp-proxy.js';
import { waitUntil } from './helpers/wait.js';

// The process's one pub/sub connection, which the session broadcast and the stop signals share
// (PostgreSQL + Redis mode: it is Redis's; embedded, neither uses Redis).
describe.runIf(testMode === 'services')('the shared Redis subscriber', () => {
  const url = process.env.TEST_REDIS_URL ?? '';
  const log = createLogger('silent');
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A command connection and its subscriber, as a process of one deployment (`prefix`) has them, optionally through `proxy`. */
  function processOf(prefix: string, proxy?: TcpProxy): { redis: Redis; subscriber: RedisSubscriber } {
    const redis = createRedis({ url: proxy ? proxy.urlFor(url) : url, keyPrefix: prefix });
    const subscriber = createRedisSubscriber(redis, log);
    redis.on('error', () => undefined); // the cuts are on purpose
    cleanups.push(() => closeRedis(redis), () => subscriber.close());
    return { redis, subscriber };
  }
  const deployment = () => `subscriber-test-${randomBytes(4).toString('hex')}:`;
  async function redisProxy() {
    const proxy = await startTcpProxy(targetOf(url, 6379));
    cleanups.push(() => proxy.close());
    return proxy;
  }

  it('hears a channel added while it is connecting or subscribing, and is live only once Redis took each', async () => {
    const prefix = deployment();
    const { subscriber } = processOf(prefix);
    const { redis: publisher } = processOf(prefix);
    const heard: string[] = [];
    const listen = (channel: string) => subscriber.subscribe(channel, (message) => heard.push(`${channel}:${message}`));

    listen('a');
    listen('b'); // the connection is still being opened
    expect(subscriber.live).toBe(false);
    await waitUntil(() => subscriber.live, 'a and b are taken');
    listen('c');
    listen('d'); // while Redis has not answered for c yet
    expect(subscriber.live).toBe(false);
    await waitUntil(() => subscriber.live, 'c and d are taken');

    for (const channel of ['a', 'b', 'c', 'd']) await publisher.publish(channelName(publisher, channel), 'hi');
    await waitUntil(() => heard.length === 4, 'every channel was heard');
    expect(heard.sort()).toEqual(['a:hi', 'b:hi', 'c:hi', 'd:hi']);
  });

  for (const outage of ['cut', 'stall'] as const) {
    it(`is not live for any of its users while Redis is ${outage === 'cut' ? 'cut off' : 'silent'}, tells each of the gap, and recovers`, async () => {
      const prefix = deployment();
      const proxy = await redisProxy();
      const { subscriber } = processOf(prefix, proxy);
      const { subscriber: elsewhere } = processOf(prefix); // another process, whose Redis stays reachable
      const broadcast = redisBroadcast(subscriber, log);
      const stopSignals = redisStopSignals(subscriber, log);
      const heard: string[] = [];
      const gaps: string[] = [];
      broadcast.subscribe('sessions', (message) => heard.push(message));
      broadcast.onGap(() => gaps.push('broadcast'));
      await stopSignals.subscribe((replyId) => heard.push(replyId));
      await waitUntil(() => broadcast.live, 'listening');
      gaps.length = 0;

      proxy[outage]();
      // Within the PING bound at most when the network went silent: nothing says the connection is gone.
      await waitUntil(() => !broadcast.live && !subscriber.live, 'it says it is not live');
      proxy.restore();
      await waitUntil(() => broadcast.live, 'live again');
      expect(gaps).toEqual(['broadcast']);

      await redisBroadcast(elsewhere, log).publish('sessions', 's:after');
      await waitUntil(() => heard.includes('s:after'), 'a message published after the outage is heard');
    });
  }

  it('hands over a stop requested while it was cut off, and hears the next one live', async () => {
    const prefix = deployment();
    const proxy = await redisProxy();
    const { subscriber: worker } = processOf(prefix, proxy);
    const { subscriber: api } = processOf(prefix); // the process the stop is asked of
    const stops: string[] = [];
    await redisStopSignals(worker, log).subscribe((replyId) => stops.push(replyId));
    await waitUntil(() => worker.live, 'the worker listens');
    const requests = redisStopSignals(api, log);

    proxy.cut();
    await waitUntil(() => !worker.live, 'the worker is cut off');
    await requests.request('asked-during-the-cut'); // published while the worker could not hear it
    proxy.restore();
    await waitUntil(() => stops.includes('asked-during-the-cut'), 'the missed stop reaches the worker');

    await requests.request('asked-after');
    await waitUntil(() => stops.includes('asked-after'), 'a stop after the reconnection reaches the worker');
    expect(await requests.isRequested('asked-during-the-cut')).toBe(true);
  });
});
