import { register } from 'node:module';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BullMQOtel } from 'bullmq-otel';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { tracedModel } from '../../integrations/gemini/model-span.js';
import { censorUrl } from '../logger.js';
import { jobSpans } from './job-spans.js';
import { traceLogFields } from './log-fields.js';
import type { Tracing } from './tracing.js';

/** What probes and scrapers call every few seconds: a span each would bury the requests. */
const UNTRACED_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Starts OpenTelemetry tracing for this process: the SDK exporting over OTLP/HTTP, and the
 * instrumentations of Fastify (@fastify/otel), pg, ioredis and undici (the Gemini SDK's fetch).
 *
 * Must run before the instrumented modules are first imported (main.ts imports the app after it):
 * pg and ioredis are patched as they load, through import-in-the-middle's loader hook, which is told
 * to intercept those modules only. Fastify and undici need no patching (diagnostics channels).
 *
 * The standard variables configure the rest, read by the SDK itself: OTEL_EXPORTER_OTLP_ENDPOINT
 * (or _TRACES_ENDPOINT) and _HEADERS, OTEL_TRACES_SAMPLER and _ARG, OTEL_RESOURCE_ATTRIBUTES,
 * OTEL_BSP_* (batching).
 */
export async function startTracing({ serviceName }: { serviceName: string }): Promise<Tracing> {
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

  const sdk = new NodeSDK({
    serviceName,
    traceExporter: new OTLPTraceExporter(),
    // Traces only: metrics are Prometheus' (/metrics), logs go to stdout.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        // One span per request. Spans per hook and per handler cost more than they tell (and a
        // handler span is named after its plugin, here the whole source of an anonymous function).
        instrumentHooks: false,
        instrumentHandler: false,
        ignorePaths: ({ url }) => UNTRACED_ROUTES.has(url),
        requestHook: (span, request) => {
          // `POST /chatroom/:id/message`, as the HTTP semantic conventions name a server span.
          span.updateName(`${request.method} ${request.routeOptions.url ?? ''}`.trim());
          // The simulated checkout's ids are capabilities: kept out of traces as out of logs.
          span.setAttribute('url.path', censorUrl(request.url));
        },
      }),
      // Background loops (sweeps, stream readers, the queue's polling) query without a parent span:
      // each would be a trace of its own. Only statements made inside a trace are recorded.
      new PgInstrumentation({ requireParentSpan: true }),
      // The command name only: arguments carry users' data (cached pages, session entries).
      new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command) => command }),
      new UndiciInstrumentation({ requireParentforSpans: true }),
    ],
  });
  sdk.start();
  // The loader must know the hooked modules before the app imports them.
  await waitForAllMessagesAcknowledged();

  const tracer = trace.getTracer('gemini-chat');
  return {
    bullmqTelemetry: new BullMQOtel({ tracerName: 'bullmq' }),
    jobs: jobSpans(tracer),
    traceModel: (model) => tracedModel(model, tracer),
    logFields: traceLogFields,
    shutdown: () => sdk.shutdown(),
  };
}
