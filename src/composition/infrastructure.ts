import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { memoryBroadcast, redisBroadcast, type Broadcast } from '../infra/broadcast.js';
import { disabledCache, memoryCache, redisCache, type Cache } from '../infra/cache.js';
import { systemClock, type Clock } from '../infra/clock.js';
import { openDatabase, type Database, type DatabaseOptions } from '../infra/db/client.js';
import { checkDependencies } from '../infra/dependency-checks.js';
import { createMetrics, type Metrics } from '../infra/metrics.js';
import { createBullmqQueue } from '../infra/queue/bullmq-queue.js';
import type { GenerationQueue } from '../infra/queue/generation-queue.js';
import { createInProcessQueue } from '../infra/queue/in-process-queue.js';
import { memoryRateLimitStore, redisRateLimitStore, type RateLimitStore } from '../infra/rate-limit-store.js';
import { closeRedis, createRedis } from '../infra/redis.js';
import { createRedisSubscriber } from '../infra/redis-subscriber.js';
import { memoryReplyStream, redisReplyStream, type ReplyStream } from '../infra/reply-stream.js';
import { memoryStopSignals, redisStopSignals, type StopSignals } from '../infra/stop-signals.js';
import { lazyGeminiModel } from '../integrations/gemini/lazy-gemini-model.js';
import type { ChatModel } from '../integrations/gemini/model.js';
import { createOfflineModel } from '../integrations/gemini/offline-model.js';
import { fileStoreFrom } from '../infra/file-store/create-file-store.js';
import type { FileStore } from '../infra/file-store/file-store.js';
import type { Tracing } from '../infra/tracing/tracing.js';

/** The drivers the configuration asks for: what talks to the outside (database, Redis, the model). */
export interface Infrastructure {
  clock: Clock;
  database: Database;
  redis: Redis | undefined;
  broadcast: Broadcast;
  cache: Cache;
  rateLimitStore: RateLimitStore;
  queue: GenerationQueue;
  stream: ReplyStream;
  stopSignals: StopSignals;
  model: ChatModel;
  /** Where uploaded files' bytes are (FILE_STORE). */
  fileStore: FileStore;
  metrics: Metrics;
  /** Closes every connection, the database last. */
  close(): Promise<void>;
}

export interface InfrastructureOverrides {
  clock?: Clock;
  /** Defaults to DATABASE_URL, else PGlite in DATA_DIR. */
  database?: DatabaseOptions;
  /** An open database to use instead of opening one (tests reuse one per file); `close()` closes it as usual. */
  openedDatabase?: Database;
  redisKeyPrefix?: string;
  /** Defaults to Redis when REDIS_URL is set, else an in-process LRU. */
  cache?: Cache;
  /** The process's tracing, which main.ts starts when OTEL_EXPORTER_OTLP_ENDPOINT is set; absent = no tracing work anywhere. */
  tracing?: Tracing;
}

// A limiter that cannot count within this budget lets the request through (README, "Rate limits").
const RATE_LIMIT_STORE_TIMEOUT_MS = 500;

export function databaseOptionsFrom(config: Config): DatabaseOptions {
  return config.DATABASE_URL
    ? {
        kind: 'postgres',
        url: config.DATABASE_URL,
        poolSize: config.DATABASE_POOL_SIZE,
        connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
        idleTimeoutMs: config.DATABASE_IDLE_TIMEOUT_MS,
        statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
      }
    : { kind: 'pglite', dataDir: config.DATA_DIR };
}

function modelFrom(config: Config, log: FastifyBaseLogger, tracing: Tracing | undefined): ChatModel {
  if (!config.GEMINI_API_KEY) {
    log.warn('GEMINI_API_KEY is not set: replies come from the offline stand-in model');
    return createOfflineModel();
  }
  const gemini = lazyGeminiModel({
    apiKey: config.GEMINI_API_KEY,
    model: config.GEMINI_MODEL,
    baseUrl: config.GEMINI_BASE_URL,
    timeoutMs: config.GEMINI_TIMEOUT_MS,
    systemInstruction: config.GEMINI_SYSTEM_INSTRUCTION,
    maxOutputTokens: config.GEMINI_MAX_OUTPUT_TOKENS,
    inlineMaxBytes: config.GEMINI_INLINE_MAX_BYTES,
  });
  return tracing ? tracing.traceModel(gemini) : gemini;
}

/** Opens the database and the Redis connections, and picks each driver: Redis-backed when REDIS_URL is set, in-process otherwise. */
export async function createInfrastructure(config: Config, log: FastifyBaseLogger, overrides: InfrastructureOverrides = {}): Promise<Infrastructure> {
  const database =
    overrides.openedDatabase ??
    (await openDatabase(overrides.database ?? databaseOptionsFrom(config), {
      migrate: config.MIGRATE_ON_START,
      onConnectionError: (error, message) => log.warn({ err: error }, message),
    }));
  log.info({ driver: database.kind }, 'database ready');
  const redisKeyPrefix = overrides.redisKeyPrefix ?? config.REDIS_KEY_PREFIX;
  const redis = config.REDIS_URL ? createRedis({ url: config.REDIS_URL, keyPrefix: redisKeyPrefix }) : undefined;
  redis?.on('error', (error) => log.warn({ err: error }, 'redis connection error'));

  const metrics = createMetrics();
  const { tracing } = overrides;
  const queueOptions = { concurrency: config.GENERATION_CONCURRENCY, callsPerMinute: config.GEMINI_CALLS_PER_MINUTE, log };
  const queue = config.REDIS_URL
    ? createBullmqQueue({ ...queueOptions, redisUrl: config.REDIS_URL, prefix: `${redisKeyPrefix}bull`, ...(tracing ? { telemetry: tracing.bullmqTelemetry } : {}) })
    : createInProcessQueue({ ...queueOptions, ...(tracing ? { tracing: tracing.jobs } : {}) });
  metrics.trackQueueDepth(() => queue.depth());
  // Each scrape asks what /readyz asks, so an alert needs no prober of its own.
  metrics.trackDependencies(() => checkDependencies({ database, redis, queue }, log));
  // One pub/sub connection per process for the session broadcast and the stop signals; the stream
  // reader keeps its own (a blocking XREAD cannot share a subscribed connection).
  const subscriber = redis ? createRedisSubscriber(redis, log) : undefined;
  const broadcast = subscriber ? redisBroadcast(subscriber, log) : memoryBroadcast();
  const stream = redis ? redisReplyStream(redis, log) : memoryReplyStream();
  const stopSignals = subscriber ? redisStopSignals(subscriber, log) : memoryStopSignals();
  const cache = overrides.cache ?? (config.CHATROOM_CACHE_TTL_SECONDS === 0 ? disabledCache() : redis ? redisCache(redis) : memoryCache());

  return {
    clock: overrides.clock ?? systemClock,
    database,
    redis,
    broadcast,
    cache,
    rateLimitStore: redis ? redisRateLimitStore(redis, RATE_LIMIT_STORE_TIMEOUT_MS) : memoryRateLimitStore(),
    queue,
    stream,
    stopSignals,
    model: modelFrom(config, log, tracing),
    fileStore: fileStoreFrom(config),
    metrics,
    async close() {
      await queue.close();
      await stream.close();
      await stopSignals.close();
      await broadcast.close();
      subscriber?.close();
      if (redis) await closeRedis(redis);
      await database.close();
    },
  };
}
