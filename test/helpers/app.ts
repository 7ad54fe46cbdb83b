import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createContainer, type Container, type ContainerOverrides } from '../../src/container.js';
import type { DatabaseOptions } from '../../src/infra/db/client.js';
import { createLogger } from '../../src/infra/logger.js';
import { TestClock } from './clock.js';
import { provisionBackends } from './mode.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-bytes-long!!';

export interface TestApp {
  app: FastifyInstance;
  container: Container;
  clock: TestClock;
  /** Every log line the app wrote, when started with captureLogs. */
  logs: string[];
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  captureLogs?: boolean;
  /** Run the generation worker in this process (default true, like `npm start`). */
  worker?: boolean;
  overrides?: Pick<ContainerOverrides, 'cache'>;
  /**
   * Runs on the test's fresh database before the app opens it (which applies the migrations), and
   * may swap it for another (e.g. an embedded one on disk, prepared by hand).
   */
  prepareDatabase?: (database: DatabaseOptions) => Promise<DatabaseOptions>;
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const backends = await provisionBackends();
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: options.captureLogs ? 'trace' : 'silent',
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    AUTH_RATE_LIMIT_PER_NUMBER_PER_MINUTE: '100000',
    DATA_DIR: '/nonexistent-data-dir-for-tests',
    GENERATION_RETRY_BASE_MS: '5',
    GEMINI_CALLS_PER_MINUTE: '100000',
    // Titles call the model too: off unless a test is about them, so that model calls stay countable.
    AUTO_TITLE: 'false',
    // Jobs still running when a test app closes get a short grace, then go back to the queue.
    SHUTDOWN_GRACE_MS: '2000',
    ...backends.env,
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
  const database = options.prepareDatabase ? await options.prepareDatabase(backends.database) : backends.database;
  const container = await createContainer(config, log, {
    clock,
    database,
    redisKeyPrefix: backends.redisKeyPrefix,
    ...options.overrides,
  });
  const app = await buildApp(container);
  await app.ready();
  if (options.worker !== false) container.startWorker();
  return {
    app,
    container,
    clock,
    logs,
    request: (injectOptions) => app.inject(injectOptions),
    async close() {
      await app.close();
      await container.close();
      await backends.dispose();
    },
  };
}
