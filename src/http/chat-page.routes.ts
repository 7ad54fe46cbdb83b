import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';

/**
 * Where `npm run build` puts the chat page (web/ compiled). Resolved from the project root, which is
 * two levels up from both src/http/ and dist/http/, so the compiled server and tsx find the same folder.
 */
export const CHAT_PAGE_DIR = fileURLToPath(new URL('../../dist/public/', import.meta.url));

const INDEX = { name: 'gemini-chat-backend', docs: '/docs', openapi: '/openapi.json' };

// A browser asks for text/html first; scripts (curl's */*, fetch's application/json) keep the JSON index.
const wantsPage = (request: FastifyRequest) => (request.headers.accept ?? '').includes('text/html');

/**
 * GET / answers the chat page to a browser and the JSON index to everyone else; the page's script and
 * styles are files under /assets/ (the CSP allows no inline code). Without a built page (a bare
 * `tsx src/main.ts` before any `npm run build`) the JSON index says how to get one. /favicon.ico is 204.
 */
export const chatPageRoutes =
  ({ root = CHAT_PAGE_DIR }: { root?: string } = {}): FastifyPluginAsync =>
  async (app) => {
    const indexFile = join(root, 'index.html');
    const page = existsSync(indexFile) ? readFileSync(indexFile, 'utf8') : undefined;
    if (page !== undefined) {
      await app.register(fastifyStatic, { root: join(root, 'assets'), prefix: '/assets/', decorateReply: false, index: false });
    }
    // Browsers ask every site for /favicon.ico: a 404 would be a console error on every page. There is
    // no icon (nothing to keep in step with the page), so "nothing here", cached for a day.
    app.get('/favicon.ico', { schema: { hide: true } }, (_request, reply) =>
      reply.code(204).header('cache-control', 'public, max-age=86400').send(),
    );
    app.get('/', { schema: { hide: true } }, (request, reply) => {
      if (page !== undefined && wantsPage(request)) return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page);
      return { ...INDEX, page: page === undefined ? 'not built: run `npm run build`' : '/' };
    });
  };
