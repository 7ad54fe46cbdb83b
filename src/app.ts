import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { modelChoices } from './config.js';
import type { Services } from './composition/services.js';
import type { Config } from './config.js';
import type { Clock } from './infra/clock.js';
import { lazyChildLogger } from './infra/lazy-logger.js';
import { chatPageRoutes } from './http/chat-page.routes.js';
import { clientErrorProblem, requireHostHeader } from './http/client-errors.js';
import { healthRoutes, readinessChecks } from './http/health.routes.js';
import { addSecurityHeaders, securityHeaders } from './http/security-headers.js';
import { MAX_PATH_SEGMENT_LENGTH } from './http/path-id.js';
import { metricsExposed, metricsRoutes } from './http/metrics.routes.js';
import { nameOperations, openApiOptions } from './http/openapi.js';
import { frameworkErrorProblem, registerProblemHandlers } from './http/problem.js';
import { createAuthRateLimits, perUserLimit } from './http/rate-limits.js';
import { authRoutes } from './modules/auth/auth.routes.js';
import { chatroomRoutes } from './modules/chatrooms/chatroom.routes.js';
import { messageRoutes } from './modules/messages/message.routes.js';
import { billingRoutes } from './modules/billing/billing.routes.js';
import { simulatorRoutes } from './modules/billing/simulator.routes.js';
import { webhookRoutes } from './modules/billing/webhook.routes.js';
import { userRoutes } from './modules/auth/user.routes.js';
import { fileRoutes } from './modules/files/file.routes.js';
import { searchRoutes } from './modules/search/search.routes.js';
import { feedbackRoutes } from './modules/messages/feedback.routes.js';
import { publicShareRoutes } from './modules/shares/public-share.routes.js';
import { shareRoutes } from './modules/shares/share.routes.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** What the HTTP app is built on: the services, never a driver or a connection. */
export interface AppDeps {
  config: Config;
  log: FastifyBaseLogger;
  clock: Clock;
  services: Services;
}

/** Builds the HTTP app on the services. Never listens: main.ts does, tests inject. */
export async function buildApp({ config, log, clock, services }: AppDeps): Promise<FastifyInstance> {
  // blob: for the chat page's images of files, fetched with the token (an <img src> cannot send it).
  const responseSecurityHeaders = securityHeaders({ contentSecurityPolicy: { directives: { 'img-src': ["'self'", 'data:', 'blob:', 'validator.swagger.io'] } } });
  const app = Fastify({
    loggerInstance: log,
    bodyLimit: config.BODY_LIMIT_BYTES,
    // A hop count trusts exactly that many proxies in front of us: the address they saw is the client's.
    trustProxy:
      typeof config.TRUST_PROXY === 'number'
        ? (_address: string, hop: number) => hop < (config.TRUST_PROXY as number)
        : config.TRUST_PROXY,
    // A caller's X-Request-Id is kept when it is sane, so one id follows a request across services.
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    // A waiting POST /chatroom/:id/message is silent for up to REPLY_WAIT_MS: the socket must outlast it.
    connectionTimeout: Math.max(60_000, config.REPLY_WAIT_MS + 30_000),
    requestTimeout: 120_000,
    // request.log is made when a request first logs: a pino child per request was ~3% of a cached list.
    childLoggerFactory: lazyChildLogger,
    // Routing failures (a malformed URL) are answered before any hook: they get the headers here.
    frameworkErrors: (error, request, reply) => frameworkErrorProblem(error, request, reply.headers(responseSecurityHeaders)),
    // Path ids are opaque: an over-long one must reach its route (auth, logs, headers) and be an unknown id there.
    routerOptions: { maxParamLength: MAX_PATH_SEGMENT_LENGTH },
    clientErrorHandler: clientErrorProblem(log),
    // Node would answer a request without Host with an empty 400; requireHostHeader answers a problem.
    http: { requireHostHeader: false },
  }).withTypeProvider<ZodTypeProvider>();

  // JSON only: a text/plain body is 415, not a string that fails validation further on.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('auth', null);
  // Once a shutdown has begun, every response closes its connection: a keep-alive connection that
  // turns idle after the close started would otherwise hold the server open until the grace ends.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    if (closing) void reply.header('connection', 'close');
  });
  const { httpRequestDuration } = services.metrics;
  app.addHook('onResponse', async (request, reply) => {
    // The route template, never the raw URL: ids in label values would make unbounded series.
    httpRequestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  registerProblemHandlers(app);
  app.addHook('onRequest', requireHostHeader);

  addSecurityHeaders(app, responseSecurityHeaders);
  if (config.CORS_ORIGINS.length > 0) {
    await app.register(cors, {
      origin: config.CORS_ORIGINS.includes('*') ? true : config.CORS_ORIGINS,
      exposedHeaders: ['x-request-id', 'x-cache', 'location', 'retry-after', 'ratelimit', 'ratelimit-policy'],
    });
  }

  await app.register(swagger, openApiOptions(config.PUBLIC_BASE_URL));
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());

  const limits = createAuthRateLimits({
    store: services.rateLimitStore,
    log,
    perIpPerMinute: config.AUTH_RATE_LIMIT_PER_MINUTE,
    perNumberPerMinute: config.AUTH_RATE_LIMIT_PER_NUMBER_PER_MINUTE,
    perNumberCeilingPerMinute: config.AUTH_RATE_LIMIT_PER_NUMBER_CEILING_PER_MINUTE,
  });
  await app.register(chatPageRoutes());
  // The probes are shared with the worker's own server; the API's document names them here.
  await app.register(async (probes) => {
    probes.addHook(
      'onRoute',
      nameOperations({
        'GET /healthz': {
          summary: 'Liveness: the process answers',
          operationId: 'getLiveness',
          response: { 200: z.object({ status: z.literal('ok') }) },
          openapi: { needsNoStore: true, never: [500], responses: { 200: { description: 'The process answers' } } },
        },
        'GET /readyz': {
          summary: 'Readiness: database, Redis and queue reachable (200), else 503 naming each check',
          operationId: 'getReadiness',
          response: { 200: z.object({ status: z.literal('ready'), checks: readinessChecks }) },
          // Each check is caught and named: nothing reaches the error handler, so no 500.
          openapi: {
            needsNoStore: true,
            never: [500],
            responses: {
              200: { description: 'Every dependency answers' },
              503: { description: 'Not ready: the problem\'s `checks` names the state of each dependency (`ok`, `down`, `timeout`, `not configured`)' },
            },
          },
        },
      }),
    );
    await probes.register(healthRoutes(services.readiness));
  });
  if (metricsExposed(config)) await app.register(metricsRoutes({ metrics: services.metrics, token: config.METRICS_TOKEN }));
  await app.register(authRoutes({ auth: services.auth, sessions: services.sessions, limits, defaultRegion: config.PHONE_DEFAULT_REGION }));
  await app.register(userRoutes({ sessions: services.sessions }));
  await app.register(chatroomRoutes({ sessions: services.sessions, chatrooms: services.chatrooms, models: modelChoices(config) }));
  await app.register(
    messageRoutes({
      sessions: services.sessions,
      messages: services.messages,
      follower: services.follower,
      streamSlots: services.streamSlots,
      clock: clock,
      replyWaitMs: config.REPLY_WAIT_MS,
      keepAliveMs: config.SSE_KEEPALIVE_MS,
    }),
  );
  await app.register(feedbackRoutes({ sessions: services.sessions, feedback: services.feedback }));
  await app.register(searchRoutes({ sessions: services.sessions, search: services.search }));
  await app.register(fileRoutes({ sessions: services.sessions, files: services.files, maxUploadBytes: config.MAX_UPLOAD_BYTES, logLevel: config.LOG_LEVEL }));
  await app.register(
    shareRoutes({
      sessions: services.sessions,
      shares: services.shares,
      publicBaseUrl: config.PUBLIC_BASE_URL,
      createLimit: perUserLimit({ store: services.rateLimitStore, log, scope: 'shares', max: config.SHARE_CREATE_LIMIT_PER_HOUR, windowMs: 3600_000 }),
    }),
  );
  await app.register(publicShareRoutes({ shares: services.shares, files: services.files }));
  await app.register(
    billingRoutes({
      sessions: services.sessions,
      subscriptions: services.subscriptions,
      publicBaseUrl: config.PUBLIC_BASE_URL,
      files: services.files,
      providerCallLimit: perUserLimit({
        store: services.rateLimitStore,
        log,
        scope: 'checkout',
        max: config.CHECKOUT_RATE_LIMIT_PER_HOUR,
        windowMs: 3600_000,
      }),
    }),
  );
  await app.register(webhookRoutes({ webhooks: services.webhooks, events: services.metrics.webhookEvents }));
  const { simulator } = services.payments;
  if (simulator) await app.register(simulatorRoutes({ ...simulator, clock: clock }));

  return app;
}
