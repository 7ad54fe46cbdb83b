import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createContainer } from '../../src/container.js';
import { createLogger } from '../../src/infra/logger.js';

/**
 * The OpenAPI document exactly as the server publishes it at /openapi.json: the app is built (on an
 * in-memory database, without listening) and asked for it, so the page's types come from the same
 * route schemas that validate and serialise the real answers.
 */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const config = loadConfig({
    NODE_ENV: 'development',
    LOG_LEVEL: 'silent',
    // Only to build the app: no token is ever signed with it.
    JWT_SECRET: 'openapi-document-build-secret-not-used-for-tokens',
    MIGRATE_ON_START: 'true',
  });
  const container = await createContainer(config, createLogger('silent'), { database: { kind: 'pglite' } });
  try {
    const app = await buildApp(container);
    await app.ready();
    const document = app.swagger() as unknown as Record<string, unknown>;
    await app.close();
    return document;
  } finally {
    await container.close();
  }
}
