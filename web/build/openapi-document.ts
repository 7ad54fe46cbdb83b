import { pathToFileURL } from 'node:url';

import type * as AppModule from '../../src/app.js';
import type * as ConfigModule from '../../src/config.js';
import type * as ContainerModule from '../../src/container.js';
import type * as LoggerModule from '../../src/infra/logger.js';

/**
 * The OpenAPI document exactly as the server publishes it at /openapi.json: the app is built (on an
 * in-memory database, without listening) and asked for it, so the page's types come from the same
 * route schemas that validate and serialise the real answers. `from` is the server's code: `dist`
 * right after `tsc` (what `npm run build` uses: no transpiling twice), or `src` through tsx.
 */
export async function openApiDocument(projectDir: string, from: 'src' | 'dist'): Promise<unknown> {
  const load = <T>(path: string) => import(pathToFileURL(`${projectDir}${from}/${path}`).href) as Promise<T>;
  const [{ buildApp }, { loadConfig }, { createContainer }, { createLogger }] = await Promise.all([
    load<typeof AppModule>('app.js'),
    load<typeof ConfigModule>('config.js'),
    load<typeof ContainerModule>('container.js'),
    load<typeof LoggerModule>('infra/logger.js'),
  ]);
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
    const document = app.swagger();
    await app.close();
    return document;
  } finally {
    await container.close();
  }
}
