import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createContainer, databaseOptionsFrom, type Container, type ContainerOverrides } from '../../src/container.js';
import type { DatabaseOptions } from '../../src/infra/db/client.js';
import { createLogger } from '../../src/infra/logger.js';
import { TestClock } from './clock.js';
import { provisionBackends, provisionFreshBackends, type FreshBackends } from './mode.js';
import { startTcpProxy, targetOf, type TcpProxy } from './tcp-proxy.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-bytes-long!!';

export interface TestApp {
  app: FastifyInstance;
  container: Container;
  clock: TestClock;
  /** Every log line the app wrote, when started with captureLogs. */
  logs: string[];
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** With `throughProxies`: the proxies between the app and PostgreSQL and Redis, and the database's own URL. */
  services?: { databaseProxy: TcpProxy; redisProxy: TcpProxy; databaseUrl: string };
  /** Where this app keeps its data (services mode): what a peer (`peerOf`) shares. */
  deployment: { env: Record<string, string>; redisKeyPrefix?: string };
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  captureLogs?: boolean;
  /** Run the generation worker in this process (default true, like `npm start`). */
  worker?: boolean;
  overrides?: Pick<ContainerOverrides, 'cache'>;
  /** Services mode only: reach PostgreSQL and Redis through TCP proxies the test can cut. */
  throughProxies?: boolean;
  /**
   * Runs on a fresh, unmigrated database before the app opens it (which applies the migrations),
   * and may swap it for another (e.g. an embedded one on disk, prepared by hand).
   */
  prepareDatabase?: (database: DatabaseOptions) => Promise<DatabaseOptions>;
  /**
   * Services mode only: another api process of `peer`'s deployment. The same database and Redis
   * keys, through connections, caches and subscriptions of its own; the same clock.
   */
  peerOf?: TestApp;
}

/**
 * An app on the test file's database (opened once per file, emptied for each app) and, in services
 * mode, a Redis key prefix of its own.
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const { peerOf } = options;
  if (peerOf && !peerOf.deployment.env.DATABASE_URL) throw new Error('peerOf needs the services mode (PostgreSQL and Redis)');
  // A peer opens connections of its own to its peer's database (the URL in its env) and shares nothing else in-process.
  const backends = peerOf ? { ...peerOf.deployment, database: undefined } : await provisionBackends();
  // A database prepared by the test is one of its own, not the file's shared one.
  const fresh: FreshBackends | undefined = options.prepareDatabase ? await provisionFreshBackends() : undefined;
  let env = fresh ? { ...backends.env, ...fresh.env } : backends.env;
  let services: TestApp['services'];
  if (options.throughProxies) {
    const { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl } = backends.env;
    if (!databaseUrl || !redisUrl) throw new Error('throughProxies needs the services mode (PostgreSQL and Redis)');
    const databaseProxy = await startTcpProxy(targetOf(databaseUrl, 5432));
    const redisProxy = await startTcpProxy(targetOf(redisUrl, 6379));
    env = { ...env, DATABASE_URL: databaseProxy.urlFor(databaseUrl), REDIS_URL: redisProxy.urlFor(redisUrl) };
    services = { databaseProxy, redisProxy, databaseUrl };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'gc-app-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: options.captureLogs ? 'trace' : 'silent',
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    AUTH_RATE_LIMIT_PER_NUMBER_PER_MINUTE: '100000',
    AUTH_RATE_LIMIT_PER_NUMBER_CEILING_PER_MINUTE: '100000',
    // A directory of the app's own: uploaded files land in DATA_DIR/files (the fs store).
    DATA_DIR: dataDir,
    GENERATION_RETRY_BASE_MS: '5',
    GEMINI_CALLS_PER_MINUTE: '100000',
    // Titles call the model too: off unless a test is about them, so that model calls stay countable.
    AUTO_TITLE: 'false',
    // Jobs still running when a test app closes get a short grace, then go back to the queue.
    SHUTDOWN_GRACE_MS: '2000',
    ...env,
    ...options.env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const log = createLogger(config.LOG_LEVEL, sink);
  const clock = new TestClock();
  // Through the proxies, the app opens its own connections to the file's database (via DATABASE_URL).
  const configured = databaseOptionsFrom(config);
  const database: Pick<ContainerOverrides, 'database' | 'openedDatabase'> =
    fresh && options.prepareDatabase
      ? { database: await options.prepareDatabase(fresh.database) }
      : (services || !backends.database) && configured.kind === 'postgres'
        ? { database: { ...configured, poolSize: 5 } }
        : { openedDatabase: backends.database };
  const container = await createContainer(config, log, {
    clock: peerOf?.clock ?? clock,
    ...database,
    redisKeyPrefix: backends.redisKeyPrefix,
    ...options.overrides,
  });
  const app = await buildApp(container);
  await app.ready();
  if (options.worker !== false) container.startWorker();
  return {
    app,
    container,
    clock: peerOf?.clock ?? clock,
    logs,
    request: (injectOptions) => app.inject(injectOptions),
    services,
    deployment: { env: fresh ? { ...backends.env, ...fresh.env } : backends.env, redisKeyPrefix: backends.redisKeyPrefix },
    async close() {
      services?.databaseProxy.restore();
      services?.redisProxy.restore();
      await app.close();
      await container.close(); // the file's database goes back to its pool, emptied before its next use
      if (services) {
        await services.databaseProxy.close();
        await services.redisProxy.close();
      }
      if (services || fresh) await backends.database?.close(); // the file's database, unused: back to its pool
      await fresh?.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
