import { join } from 'node:path';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { createContainer, databaseOptionsFrom } from './container.js';
import { openDatabase } from './infra/db/client.js';
import { createProcessLogger } from './infra/logger.js';
import type { Tracing } from './infra/tracing/tracing.js';
import { buildWorkerServer } from './http/worker-server.js';
import { assertInstallationFileStore } from './modules/files/shared-store-check.js';

export type Role = 'all' | 'api' | 'worker' | 'migrate';

const wantsPrettyLogs = (config: Config) =>
  config.LOG_FORMAT === 'pretty' || (config.LOG_FORMAT === 'auto' && config.NODE_ENV === 'development' && process.stdout.isTTY);

/** `migrate`: applies the pending migrations and exits; a deploy runs it once before the rollout. */
async function migrate(config: Config) {
  const log = createProcessLogger(config.LOG_LEVEL, wantsPrettyLogs(config)).child({ role: 'migrate' });
  const database = await openDatabase(databaseOptionsFrom(config), { migrate: true });
  await database.close();
  log.info({ driver: database.kind }, 'migrations applied');
}

async function serve(role: Exclude<Role, 'migrate'>, config: Config, tracing: Tracing | undefined) {
  const log = createProcessLogger(config.LOG_LEVEL, wantsPrettyLogs(config), tracing?.logFields).child({ role });
  const container = await createContainer(config, log, tracing ? { tracing } : {});
  if (config.DATABASE_URL) {
    // Processes that share the database must share the files' bytes: refuse a layout where they do not.
    await assertInstallationFileStore(
      container.database,
      container.fileStore,
      config.FILE_STORE === 'fs' ? `fs at ${join(config.DATA_DIR, 'files')}` : `s3 bucket ${config.S3_BUCKET}`,
    ).catch(async (error: unknown) => {
      await container.close();
      throw error;
    });
  }

  const servers: FastifyInstance[] = [];
  if (role !== 'worker') {
    const app = await buildApp(container);
    await app.listen({ port: config.PORT, host: config.HOST });
    servers.push(app);
  }
  if (role !== 'api') {
    container.startWorker();
    log.info({ queue: container.queue.kind, model: container.model.name }, 'generation worker started');
  }
  if (role === 'worker') {
    // Health and metrics of a process that serves no API: what an orchestrator and Prometheus probe.
    const healthServer = await buildWorkerServer(container);
    await healthServer.listen({ port: config.WORKER_PORT, host: config.HOST });
    servers.push(healthServer);
  }

  // Our own grace handling (requests, streams, jobs) ends within SHUTDOWN_GRACE_MS; the extra margin
  // is for closing connections. Only a shutdown stuck past both exits 1.
  closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS + 10_000, logger: log }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'shutting down after an error');
    else log.info({ signal }, 'shutting down: draining requests, streams and jobs');
    // The HTTP side drains while the worker finishes its generations: in role `all`, a request that
    // waits for a reply needs the worker to keep going until that reply ends.
    await Promise.all([...servers.map((server) => server.close()), container.stopWorker(config.SHUTDOWN_GRACE_MS)]);
    await container.close();
    // Last: the spans of the shutdown itself go out too.
    await tracing?.shutdown().catch((error: unknown) => log.warn({ err: error }, 'could not send the last spans'));
    log.info('shut down cleanly');
  });
}

/** Runs one role of the server; main.ts has checked the role against the configuration, and started tracing first when it is on. */
export async function runRole(role: Role, config: Config, tracing: Tracing | undefined) {
  if (role === 'migrate') await migrate(config);
  else await serve(role, config, tracing);
}
