import type { Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.js';
import type { Clock } from './infra/clock.js';
import { systemClock } from './infra/clock.js';
import { openDatabase, type Database, type DatabaseOptions } from './infra/db/client.js';
import { memoryRateLimitStore, redisRateLimitStore, type RateLimitStore } from './infra/rate-limit-store.js';
import { closeRedis, createRedis } from './infra/redis.js';
import { memoryCache, redisCache, type Cache } from './infra/cache.js';
import { createChatroomListCache } from './modules/chatrooms/chatroom-list-cache.js';
import { createChatroomService, type ChatroomService } from './modules/chatrooms/chatroom.service.js';
import { createAccessTokenCodec } from './modules/auth/access-token.js';
import { createAuthService, type AuthService } from './modules/auth/auth.service.js';
import { logOtpSender, responseOtpSender } from './modules/auth/otp-sender.js';
import { createOtpService } from './modules/auth/otp.service.js';
import { deriveAuthKeys, loadOrCreateDevSecret } from './modules/auth/secrets.js';
import { createSessionService, type SessionService } from './modules/auth/session.service.js';

export interface Container {
  config: Config;
  log: FastifyBaseLogger;
  clock: Clock;
  database: Database;
  redis: Redis | undefined;
  rateLimitStore: RateLimitStore;
  auth: AuthService;
  sessions: SessionService;
  chatrooms: ChatroomService;
  close(): Promise<void>;
}

export interface ContainerOverrides {
  clock?: Clock;
  /** Defaults to DATABASE_URL, else PGlite in DATA_DIR. */
  database?: DatabaseOptions;
  redisKeyPrefix?: string;
  /** Defaults to Redis when REDIS_URL is set, else an in-process LRU. */
  cache?: Cache;
}

export function databaseOptionsFrom(config: Config): DatabaseOptions {
  return config.DATABASE_URL ? { kind: 'postgres', url: config.DATABASE_URL } : { kind: 'pglite', dataDir: config.DATA_DIR };
}

/** The composition root: picks the drivers the configuration asks for and wires the services. */
export async function createContainer(config: Config, log: FastifyBaseLogger, overrides: ContainerOverrides = {}): Promise<Container> {
  const clock = overrides.clock ?? systemClock;
  const database = await openDatabase(overrides.database ?? databaseOptionsFrom(config));
  log.info({ driver: database.kind }, 'database ready');
  const redis = config.REDIS_URL ? createRedis({ url: config.REDIS_URL, keyPrefix: overrides.redisKeyPrefix }) : undefined;
  redis?.on('error', (error) => log.warn({ err: error }, 'redis connection error'));

  const keys = deriveAuthKeys(config.JWT_SECRET ?? loadOrCreateDevSecret(config.DATA_DIR, log));
  const sessions = createSessionService({
    database,
    accessTokens: createAccessTokenCodec(keys.jwt, config.ACCESS_TOKEN_TTL_SECONDS),
    refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
    clock,
    log,
  });
  const auth = createAuthService({
    database,
    otp: createOtpService({ otpKey: keys.otp, clock }),
    otpSender: config.OTP_SENDER === 'log' ? logOtpSender(log) : responseOtpSender,
    sessions,
    clock,
  });

  const chatrooms = createChatroomService({
    database,
    listCache: createChatroomListCache({
      cache: overrides.cache ?? (redis ? redisCache(redis) : memoryCache()),
      ttlSeconds: config.CHATROOM_CACHE_TTL_SECONDS,
      timeoutMs: 250,
      log,
    }),
    clock,
  });

  return {
    config,
    log,
    clock,
    database,
    redis,
    rateLimitStore: redis ? redisRateLimitStore(redis) : memoryRateLimitStore(),
    auth,
    sessions,
    chatrooms,
    async close() {
      if (redis) await closeRedis(redis);
      await database.close();
    },
  };
}
