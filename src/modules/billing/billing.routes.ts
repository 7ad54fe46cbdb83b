import type { preHandlerAsyncHookHandler } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { bearerAuth } from '../../http/openapi.js';
import { authOf, requireAuth } from '../auth/auth-hook.js';
import { baseUrlOf } from '../../http/base-url.js';
import type { SessionService } from '../auth/session.service.js';
import type { SubscriptionService } from './subscription.service.js';
import { storageSchema } from '../files/file.schemas.js';
import type { FileService } from '../files/file.service.js';

type Deps = {
  sessions: Pick<SessionService, 'authenticate'>;
  subscriptions: SubscriptionService;
  publicBaseUrl: string | undefined;
  /** Each checkout or portal session is a call to Stripe: limited per user. */
  providerCallLimit: preHandlerAsyncHookHandler;
  /** The user's files: bytes kept and the plan's quota. */
  files: Pick<FileService, 'storageOf'>;
};

const subscriptionStatusSchema = z
  .object({
    tier: z.enum(['basic', 'pro']),
    status: z.enum(['none', 'incomplete', 'trialing', 'active', 'past_due', 'canceled', 'unpaid']),
    currentPeriodEnd: z.string().nullable(),
    cancelAtPeriodEnd: z.boolean(),
    usage: z.object({
      used: z.number().int(),
      limit: z.number().int().nullable(),
      remaining: z.number().int().nullable(),
      resetsAt: z.string(),
    }),
    storage: storageSchema,
  })
  .meta({ id: 'SubscriptionStatus' });

export const billingRoutes =
  ({ sessions, subscriptions, publicBaseUrl, providerCallLimit, files }: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.addHook('onRequest', requireAuth(sessions));
    const tags = ['subscriptions'];
    const security = bearerAuth;

    app.post(
      '/subscribe/pro',
      {
        schema: {
          tags,
          summary: 'Start a Stripe Checkout for the Pro plan',
          operationId: 'subscribePro',
          security,
          response: { 201: z.object({ checkoutUrl: z.string(), sessionId: z.string() }) },
        },
        preHandler: providerCallLimit,
        config: { problems: [409, 502], openapi: { rateLimited: true, responses: { 201: { description: 'Where to pay: open checkoutUrl in a browser' } } } },
      },
      async (request, reply) =>
        reply.code(201).send(await subscriptions.subscribePro(authOf(request).user, baseUrlOf(request, publicBaseUrl))),
    );

    app.get(
      '/subscription/status',
      { schema: { tags, summary: 'My plan, subscription and today\'s usage', operationId: 'getSubscriptionStatus', security, response: { 200: subscriptionStatusSchema } } },
      async (request) => {
        const { user } = authOf(request);
        const [status, storage] = await Promise.all([subscriptions.status(user), files.storageOf(user)]);
        return { ...status, storage };
      },
    );

    app.post(
      '/subscription/portal',
      {
        schema: {
          tags,
          summary: 'Open the Stripe Billing Portal',
          operationId: 'openBillingPortal',
          security,
          response: { 201: z.object({ url: z.string() }) },
          description: 'A Stripe Billing Portal session',
        },
        preHandler: providerCallLimit,
        config: { problems: [409, 502], openapi: { rateLimited: true, responses: { 201: { description: 'The portal session: open url in a browser' } } } },
      },
      async (request, reply) => reply.code(201).send(await subscriptions.portal(authOf(request).user, baseUrlOf(request, publicBaseUrl))),
    );
  };
