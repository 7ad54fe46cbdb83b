import type { FastifyPluginAsync } from 'fastify';
import { noAuth } from '../../http/openapi.js';
import type { WebhookService } from './webhook.service.js';

/**
 * POST /webhook/stripe in a plugin of its own, whose body parser keeps the raw bytes: Stripe signs
 * the body exactly as sent, and a JSON parser in front of it would break every signature.
 * Every other route keeps normal JSON parsing.
 */
export const webhookRoutes =
  ({ webhooks }: { webhooks: WebhookService }): FastifyPluginAsync =>
  async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    // Stripe events (an invoice with many lines) can outgrow the API's body limit; a 413 here would
    // make Stripe retry for days and then disable the endpoint.
    app.post(
      '/webhook/stripe',
      {
        schema: {
          tags: ['subscriptions'],
          summary: 'Stripe webhook (verified by the Stripe-Signature header)',
          operationId: 'receiveStripeWebhook',
          security: noAuth,
        },
        bodyLimit: 1024 * 1024,
        config: { problems: [400] },
      },
      async (request) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const signature = request.headers['stripe-signature'];
        await webhooks.handle(body, typeof signature === 'string' ? signature : undefined);
        return { received: true };
      },
    );
  };
