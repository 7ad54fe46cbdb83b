import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../infra/clock.js';
import { AppError } from '../../http/app-error.js';
import { noAuth, type OperationWire } from '../../http/openapi.js';
import { pathId } from '../../http/path-id.js';
import type { SimulatedEvent, SimulatedGateway } from '../../integrations/stripe/simulated-gateway.js';
import { signPayload } from '../../integrations/stripe/webhook-signature.js';

type Deps = { gateway: SimulatedGateway; webhookSecret: string; clock: Clock };

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}
.note{background:#fff7d6;border:1px solid #e6c84f;padding:.6rem .8rem;border-radius:6px;font-size:.9rem}
button{font-size:1rem;padding:.6rem 1.2rem;margin-right:.6rem;border-radius:6px;border:1px solid #888;cursor:pointer}
.pay{background:#2d6cdf;color:#fff;border-color:#2d6cdf}</style></head>
<body><h1>${escapeHtml(title)}</h1>
<p class="note">Simulated checkout: no Stripe keys are configured on this server, so no card is charged. The outcome is
sent to this server's Stripe webhook as signed, Stripe-shaped events.</p>
${body}</body></html>`;

const outcomeBody = z.object({ outcome: z.enum(['paid', 'declined']) });
const portalBody = z.object({ action: z.literal('cancel') });
const checkoutDone = z.object({ sessionId: z.string(), outcome: z.enum(['paid', 'declined']), events: z.array(z.string()).meta({ description: 'The Stripe event types delivered to the webhook' }) });
const portalDone = z.object({ canceled: z.number().int().meta({ description: 'Subscriptions canceled' }), events: z.array(z.string()) });

/** The pages and forms, for the document: a page is HTML; a form's POST answers JSON, or a page to a browser. */
const htmlPage = { 'text/html': { schema: { type: 'string', description: 'An HTML page' } } };
const pageWire = (description: string): OperationWire => ({ needsNoStore: true, responses: { 200: { description, content: htmlPage } } });
// The webhook's own failures reach the form as a 500 (the delivery throws), never as a 503.
const formWire = (description: string): OperationWire => ({
  needsNoStore: true,
  alsoConsumes: ['application/x-www-form-urlencoded'],
  responses: { 200: { description: `${description}: JSON, or a page when the request accepts text/html (a browser's form)`, content: htmlPage } },
});
const sessionParams = z.object({ sessionId: pathId });
const portalParams = z.object({ portalId: pathId });

/** Posts each event to /webhook/stripe, signed: the same route, verification and handling as Stripe's. */
async function deliver(app: FastifyInstance, events: SimulatedEvent[], secret: string, clock: Clock): Promise<void> {
  for (const event of events) {
    const payload = JSON.stringify(event);
    const res = await app.inject({
      method: 'POST',
      url: '/webhook/stripe',
      payload,
      headers: { 'content-type': 'application/json', 'stripe-signature': await signPayload(payload, secret, clock.now()) },
    });
    if (res.statusCode !== 200) throw new Error(`webhook refused simulated ${event.type}: ${res.statusCode} ${res.body}`);
  }
}

const wantsHtml = (request: FastifyRequest) => (request.headers.accept ?? '').includes('text/html');

function done(request: FastifyRequest, reply: FastifyReply, title: string, json: Record<string, unknown>) {
  if (!wantsHtml(request)) return reply.send(json);
  return reply.type('text/html; charset=utf-8').send(page(title, '<p>You can close this page and go back to the app.</p>'));
}

/** The pages that stand in for Stripe Checkout and the Billing Portal when no Stripe keys are set. */
export const simulatorRoutes =
  ({ gateway, webhookSecret, clock }: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    // Browser forms post url-encoded bodies; JSON works too.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, parsed) =>
      parsed(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    const tags = ['subscriptions'];

    const openSession = (sessionId: string) => {
      const session = gateway.findSession(sessionId);
      if (!session) throw new AppError('CHECKOUT_NOT_FOUND', 404, `Checkout session '${sessionId}' was not found`);
      return session;
    };
    const portalCustomer = (portalId: string) => {
      const customerId = gateway.findPortalCustomer(portalId);
      if (!customerId) throw new AppError('PORTAL_SESSION_NOT_FOUND', 404, `Portal session '${portalId}' was not found`);
      return customerId;
    };

    app.get('/subscribe/simulated/:sessionId', { schema: { tags, summary: 'Simulated checkout page (no Stripe keys)', operationId: 'showSimulatedCheckout', security: noAuth, params: sessionParams }, config: { openapi: pageWire('The checkout page, with Pay and Decline buttons') } }, (request, reply) => {
      const session = openSession(request.params.sessionId);
      const body =
        session.state === 'open'
          ? `<p>Gemini Chat <strong>Pro</strong>: a much larger daily prompt allowance.</p>
<form method="post"><button class="pay" name="outcome" value="paid">Pay</button><button name="outcome" value="declined">Decline</button></form>`
          : `<p>This checkout is already ${session.state}.</p>`;
      return reply.type('text/html; charset=utf-8').send(page('Subscribe to Pro', body));
    });

    app.post('/subscribe/simulated/:sessionId', {
        schema: { tags, summary: 'Complete a simulated checkout (paid or declined)', operationId: 'completeSimulatedCheckout', security: noAuth, params: sessionParams, body: outcomeBody, response: { 200: checkoutDone } },
        config: { problems: [409], openapi: formWire('The checkout is settled and its events delivered') },
      }, async (request, reply) => {
      const session = openSession(request.params.sessionId);
      if (session.state !== 'open') throw new AppError('CHECKOUT_CLOSED', 409, `Checkout session '${session.id}' is already ${session.state}`);
      const events = gateway.completeCheckout(session.id, request.body.outcome);
      await deliver(app, events, webhookSecret, clock);
      return done(request, reply, request.body.outcome === 'paid' ? 'Payment received' : 'Payment declined', {
        sessionId: session.id,
        outcome: request.body.outcome,
        events: events.map((event) => event.type),
      });
    });

    app.get('/subscribe/simulated/portal/:portalId', { schema: { tags, summary: 'Simulated billing portal page', operationId: 'showSimulatedPortal', security: noAuth, params: portalParams }, config: { openapi: pageWire('The portal page, with a Cancel button') } }, (request, reply) => {
      portalCustomer(request.params.portalId);
      const body = `<p>Manage your Pro subscription.</p><form method="post"><button name="action" value="cancel">Cancel subscription now</button></form>`;
      return reply.type('text/html; charset=utf-8').send(page('Billing portal', body));
    });

    app.post('/subscribe/simulated/portal/:portalId', { schema: { tags, summary: 'Cancel the subscription in the simulated portal', operationId: 'cancelInSimulatedPortal', security: noAuth, params: portalParams, body: portalBody, response: { 200: portalDone } }, config: { openapi: formWire('The subscriptions are canceled and the events delivered') } }, async (request, reply) => {
      const customerId = portalCustomer(request.params.portalId);
      const events = gateway.cancelSubscriptions(customerId);
      await deliver(app, events, webhookSecret, clock);
      return done(request, reply, 'Subscription canceled', { canceled: events.length, events: events.map((event) => event.type) });
    });
  };
