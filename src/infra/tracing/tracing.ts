import type { Telemetry } from 'bullmq';
import type { ChatModel } from '../../integrations/gemini/model.js';
import type { JobTracing } from '../queue/job-tracing.js';

/**
 * What a process's OpenTelemetry tracing gives the rest of the app. It exists only when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set (main.ts then loads ./start-tracing.js before the app); with it
 * unset no SDK or instrumentation is loaded, and every place that takes a Tracing does nothing extra.
 * Types only here, so that importing this file loads nothing either.
 */
export interface Tracing {
  /** BullMQ's `telemetry` option: producer and consumer spans, the trace context carried in each job. */
  bullmqTelemetry: Telemetry;
  /** The same for the in-process queue of the embedded mode. */
  jobs: JobTracing;
  /** The Gemini model with each call a span named after the GenAI semantic conventions (`chat <model>`). */
  traceModel(model: ChatModel): ChatModel;
  /** Fields for every log line written inside a trace: `trace_id`, `span_id` (pino's mixin). */
  logFields: () => Record<string, string>;
  /** Sends the spans still buffered, then stops (at shutdown, after the app has closed). */
  shutdown(): Promise<void>;
}
