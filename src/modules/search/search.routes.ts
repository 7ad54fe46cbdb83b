import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { bearerAuth } from '../../http/openapi.js';
import { authOf, requireAuth, type Authenticator } from '../auth/auth-hook.js';
import { searchPageSchema, searchQuery } from './search.schemas.js';
import type { SearchService } from './search.service.js';

type Deps = {
  sessions: Authenticator;
  search: SearchService;
};

export const searchRoutes =
  ({ sessions, search }: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.addHook('onRequest', requireAuth(sessions));
    app.get(
      '/search',
      {
        schema: {
          summary: "Search the caller's messages (every branch) and chatroom titles",
          operationId: 'search',
          tags: ['search'],
          security: bearerAuth,
          querystring: searchQuery,
          response: { 200: searchPageSchema },
          description:
            'Full-text, best match first (newer first among equals). Words match by prefix and all must match; `"quoted phrases"` match as phrases; `-word` excludes (by prefix too); case and accents do not matter. Snippets are plain text with `highlights` as UTF-16 offsets.',
        },
      },
      (request) => search.search(authOf(request).user.id, request.query.q, request.query.limit, request.query.cursor),
    );
  };
