import type { FastifyPluginAsync } from 'fastify';
import type { Counter } from 'prom-client';
import { z } from 'zod';
import { AppError } from '../../http/app-error.js';
import { noAuth } from '../../http/openapi.js';
import type { WebhookService } from './webhook.service.js';

type Deps = {
  webhooks: WebhookService;
  /** stripe_webhook_events_total{type, outcome}. */
  events: Pick<Counter<'type' | 'outcome'>, 'inc'>;
};

/** The event type for the metric: read only from a body whose signature was verified, so no caller can mint label values. */
function eventTypeOf(body: Buffer): string {
  try {
    const { type } = JSON.parse(body.toString('utf8')) as { type?: unknown };
    return typeof type === 'string' && /^[a-z_.]{1,80}$/.test(type) ? type : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * POST /webhook/stripe in a plugin of its own, whose body parser keeps the raw bytes: Stripe signs
 * the body exactly as sent, and a JSON parser in front of it would break every signature.
 * Every other route keeps normal JSON parsing.
 */
export const webhookRoutes =
  ({ webhooks, events }: Deps): FastifyPluginAsync =>
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
          response: { 200: z.object({ received: z.literal(true) }).meta({ description: 'The event was verified and applied (or was a replay, a no-op)' }) },
        },
        bodyLimit: 1024 * 1024,
        config: {
          problems: [400],
          openapi: {
            // The raw bytes Stripe signed: read by the route itself, so no zod schema validates them.
            requestBody: {
              required: true,
              description: 'A Stripe Event exactly as Stripe sends it: the signature covers these bytes',
              content: { 'application/json': { schema: { type: 'object', required: ['id', 'type'], properties: { id: { type: 'string' }, type: { type: 'string' } } } } },
            },
            parameters: [
              {
                name: 'Stripe-Signature',
                in: 'header',
                required: true,
                description: "Stripe's signature of the body (`t=<timestamp>,v1=<HMAC>`); a missing or wrong one is 400 INVALID_SIGNATURE",
                schema: { type: 'string' },
              },
            ],
            // Any media type is read as bytes, so none is refused as such.
            never: [415],
          },
        },
      },
      async (request) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const signature = request.headers['stripe-signature'];
        try {
          const outcome = await webhooks.handle(body, typeof signature === 'string' ? signature : undefined);
          events.inc({ type: eventTypeOf(body), outcome });
        } catch (error) {
          const rejected = error instanceof AppError && error.code === 'INVALID_SIGNATURE';
          events.inc(rejected ? { type: 'unverified', outcome: 'rejected' } : { type: eventTypeOf(body), outcome: 'error' });
          throw error;
        }
        return { received: true };
      },
    );
  };
