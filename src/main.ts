import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createContainer } from './container.js';
import { createLogger } from './infra/logger.js';

type Role = 'all' | 'api' | 'worker';
const roles: readonly Role[] = ['all', 'api', 'worker'];

function parseRole(argument: string | undefined): Role {
  const role = argument ?? 'all';
  if (!(roles as readonly string[]).includes(role)) {
    throw new ConfigError(`Unknown role '${role}'; use one of: ${roles.join(', ')}`);
  }
  return role as Role;
}

async function main() {
  const role = parseRole(process.argv[2]);
  const config = loadConfig();
  if (role !== 'all' && !(config.REDIS_URL && config.DATABASE_URL)) {
    throw new ConfigError(
      `The '${role}' role shares work with other processes through PostgreSQL and Redis: set DATABASE_URL and REDIS_URL, ` +
        "or run the role 'all' (npm start) for the embedded single-process mode",
    );
  }
  const log = createLogger(config.LOG_LEVEL).child({ role });
  const container = await createContainer(config, log);

  const app = role === 'worker' ? undefined : await buildApp(container);
  if (app) await app.listen({ port: config.PORT, host: config.HOST });
  if (role !== 'api') {
    container.startWorker();
    log.info({ queue: container.queue.kind, model: container.model.name }, 'generation worker started');
  }

  closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS, logger: log }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'shutting down after an error');
    else log.info({ signal }, 'shutting down');
    await app?.close();
    await container.close();
  });
}

main().catch((error: unknown) => {
  // Config errors are the operator's to fix: print them plainly, without a stack.
  if (error instanceof ConfigError || (error instanceof Error && error.name === 'DataDirLockedError')) {
    console.error(error.message);
  } else {
    console.error(error);
  }
  process.exit(1);
});
