/*
 * The entry point: `node dist/main.js <role>`. It imports nothing of the app statically: when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set, tracing must start before pg, ioredis and Fastify are first
 * imported, so the app (./roles.js) is imported after it. When it is unset, no OpenTelemetry SDK,
 * exporter, instrumentation or loader hook is loaded, and no module is patched.
 */
import { ConfigError, loadConfig } from './config.js';

const roles = ['all', 'api', 'worker', 'migrate'] as const;
type Role = (typeof roles)[number];

function parseRole(argument: string | undefined): Role {
  const role = argument ?? 'all';
  if (!(roles as readonly string[]).includes(role)) {
    throw new ConfigError(`Unknown role '${role}'; use one of: ${roles.join(', ')}`);
  }
  return role as Role;
}

/** Each role its own service in a trace: the api's spans and the worker's are told apart. */
const defaultServiceName = (role: Role) => (role === 'all' ? 'gemini-chat' : `gemini-chat-${role}`);

async function main() {
  const role = parseRole(process.argv[2]);
  const config = loadConfig();
  // Said before the app loads: an operator's mistake is answered at once.
  if ((role === 'api' || role === 'worker') && !(config.REDIS_URL && config.DATABASE_URL)) {
    throw new ConfigError(
      `The '${role}' role shares work with other processes through PostgreSQL and Redis: set DATABASE_URL and REDIS_URL, ` +
        "or run the role 'all' (npm start) for the embedded single-process mode",
    );
  }
  const tracing =
    config.OTEL_EXPORTER_OTLP_ENDPOINT && role !== 'migrate'
      ? await (await import('./infra/tracing/start-tracing.js')).startTracing({ serviceName: config.OTEL_SERVICE_NAME ?? defaultServiceName(role) })
      : undefined;
  const { runRole } = await import('./roles.js');
  await runRole(role, config, tracing);
}

main().catch((error: unknown) => {
  // Operator mistakes (configuration, a held data directory, a schema behind the code) are printed
  // plainly, without a stack.
  const plain = error instanceof ConfigError || (error instanceof Error && ['DataDirLockedError', 'MigrationsError', 'FileStoreLayoutError'].includes(error.name));
  console.error(plain ? error.message : error);
  process.exit(1);
});
