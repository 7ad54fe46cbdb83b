import { context, trace } from '@opentelemetry/api';

/**
 * The active span's ids for a log line (pino's mixin), named as the OpenTelemetry log data model
 * names them, so that a log backend links the line to its trace. Outside a trace: nothing.
 */
export function traceLogFields(): Record<string, string> {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  return { trace_id: traceId, span_id: spanId, trace_flags: traceFlags.toString(16).padStart(2, '0') };
}
