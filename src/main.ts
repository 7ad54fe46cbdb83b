import { join } from 'node:path';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createContainer, databaseOptionsFrom } from './container.js';
import { openDatabase } from './infra/db/client.js';
import { createProcessLogger } from './infra/logger.js';
import { buildWorkerServer } from './http/worker-server.js';
import { assertInstallationFileStore } from './modules/files/shared-store-check.js';

type Role = 'all' | 'api' | 'worker' | 'migrate';
const roles: readonly Role[] = ['all', 'api', 'worker', 'migrate'];

function parseRole(argument: string | undefined): Role {
  const role = argument ?? 'all';
  if (!(roles as readonly string[]).includes(role)) {
    throw new ConfigError(`Unknown role '${role}'; use one of: ${roles.join(', ')}`);
  }
  return role as Role;
}

const wantsPrettyLogs = (config: Config) =>
  config.LOG_FORMAT === 'pretty' || (config.LOG_FORMAT === 'auto' && config.NODE_ENV === 'development' && process.stdout.isTTY);

/** `migrate`: applies the pending migrations and exits; a deploy runs it once before the rollout. */
async function migrate(config: Config) {
  const log = createProcessLogger(config.LOG_LEVEL, wantsPrettyLogs(config)).child({ role: 'migrate' });
  const database = await openDatabase(databaseOptionsFrom(config), { migrate: true });
  await database.close();
  log.info({ driver: database.kind }, 'migrations applied');
}

async function serve(role: Exclude<Role, 'migrate'>, config: Config) {
  if (role !== 'all' && !(config.REDIS_URL && config.DATABASE_URL)) {
    throw new ConfigError(
      `The '${role}' role shares work with other processes through PostgreSQL and Redis: set DATABASE_URL and REDIS_URL, ` +
        "or run the role 'all' (npm start) for the embedded single-process mode",
    );
  }
  const log = createProcessLogger(config.LOG_LEVEL, wantsPrettyLogs(config)).child({ role });
  const container = await createContainer(config, log);
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
    log.info('shut down cleanly');
  });
}

async function main() {
  const role = parseRole(process.argv[2]);
  const config = loadConfig();
  if (role === 'migrate') await migrate(config);
  else await serve(role, config);
}

main().catch((error: unknown) => {
  // Operator mistakes (configuration, a held data directory, a schema behind the code) are printed
  // plainly, without a stack.
  const plain = error instanceof ConfigError || (error instanceof Error && ['DataDirLockedError', 'MigrationsError', 'FileStoreLayoutError'].includes(error.name));
  console.error(plain ? error.message : error);
  process.exit(1);
});
