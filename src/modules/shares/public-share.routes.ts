import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { CHAT_PAGE_DIR } from '../../http/chat-page.routes.js';
import { sendJsonBytes } from '../../http/json-text.js';
import { noAuth } from '../../http/openapi.js';
import type { FileService } from '../files/file.service.js';
import { sendFileContent } from '../files/file-content.js';
import { fileContentResponses } from '../files/file.schemas.js';
import { shareParams, sharedConversationSchema, sharedFileParams, sharePageHtml } from './share.schemas.js';
import { SHARE_VIEW_TTL_SECONDS } from './share-view-cache.js';
import type { ShareService } from './share.service.js';

type Deps = {
  shares: Pick<ShareService, 'publicView' | 'exists' | 'sharedFile'>;
  files: Pick<FileService, 'content'>;
  /** Where `npm run build` put the pages (dist/public). */
  pageDir?: string;
};

/** Every answer of these routes, found or not: search engines stay away from shares. */
const unindexed = ['X-Robots-Tag'] as const;

const NOT_FOUND_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Share not found</title><link rel="stylesheet" href="/assets/styles.css"></head>
<body><main class="share-missing"><h1>This conversation is not shared</h1>
<p>The link is wrong, or its owner stopped sharing it.</p><p><a href="/">Open the chat</a></p></main></body></html>`;

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shared conversation</title></head>
<body><p>The page is not built: run <code>npm run build</code>. The conversation is at <code>GET /shares/:id</code>.</p></body></html>`;

/**
 * What anyone holding a share's link may read, without signing in: the conversation (JSON), the files
 * its messages carry, and the read-only page. Nothing here names who shared it. Search engines are
 * told to stay away (X-Robots-Tag), on every answer, found or not.
 */
export const publicShareRoutes =
  ({ shares, files, pageDir = CHAT_PAGE_DIR }: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    const shell = existsSync(join(pageDir, 'share.html')) ? readFileSync(join(pageDir, 'share.html'), 'utf8') : NOT_BUILT_PAGE;
    app.addHook('onSend', async (_request, reply) => {
      void reply.header('x-robots-tag', 'noindex, nofollow');
    });
    const tags = ['shares'];

    app.get(
      '/shares/:shareId',
      {
        schema: {
          summary: 'A shared conversation, read-only, for anyone with the link (cached per share)',
          operationId: 'getSharedConversation',
          tags,
          security: noAuth,
          params: shareParams,
          response: { 200: sharedConversationSchema },
        },
        config: { openapi: { everyAnswerCarries: unindexed, responses: { 200: { headers: ['Cache-Control', 'X-Cache'] } } } },
      },
      async (request, reply) => {
        const { json, cache } = await shares.publicView(request.params.shareId);
        return sendJsonBytes(reply.header('cache-control', `public, max-age=${SHARE_VIEW_TTL_SECONDS}`).header('x-cache', cache), json);
      },
    );

    app.get(
      '/shares/:shareId/files/:fileId',
      {
        schema: {
          summary: "A file of a shared conversation's messages (Range requests answer 206); 404 once its owner deleted it",
          operationId: 'getSharedFileContent',
          tags,
          security: noAuth,
          params: sharedFileParams,
        },
        config: { problems: [416], openapi: { everyAnswerCarries: unindexed, responses: fileContentResponses } },
      },
      async (request, reply) => sendFileContent(request, reply, files, await shares.sharedFile(request.params.shareId, request.params.fileId)),
    );

    app.get(
      '/s/:shareId',
      {
        schema: {
          summary: 'The read-only page of a share, for browsers (a 404 page when unknown or revoked)',
          operationId: 'showSharePage',
          tags,
          security: noAuth,
          params: shareParams,
          produces: ['text/html'],
          response: {
            200: { description: 'The page', content: { 'text/html': { schema: sharePageHtml } } },
            404: { description: 'No such share (unknown or revoked)', content: { 'text/html': { schema: sharePageHtml } } },
          },
        },
        config: { openapi: { everyAnswerCarries: unindexed, responses: { 200: { headers: ['Cache-Control'] }, 404: { headers: ['Cache-Control'] } } } },
      },
      async (request, reply) => {
        const found = await shares.exists(request.params.shareId);
        return reply
          .code(found ? 200 : 404)
          .type('text/html; charset=utf-8')
          .header('cache-control', 'no-cache')
          .send(found ? shell : NOT_FOUND_PAGE);
      },
    );
  };
