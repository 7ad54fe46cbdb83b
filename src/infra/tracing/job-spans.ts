import { context, propagation, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { JobTraceContext, JobTracing } from '../queue/job-tracing.js';

const attributes = (operation: 'add' | 'process', queueName: string, jobId: string) => ({
  'messaging.system': 'in-process',
  'messaging.operation.name': operation,
  'messaging.destination.name': queueName,
  'messaging.message.id': jobId,
});

/**
 * The in-process queue's spans, named as BullMQ names its own (`add generation`, `process
 * generation`) so that a trace reads the same in both modes: the enqueue is a producer span, and each
 * run of the job a consumer span under it, through the W3C context the job carries.
 */
export function jobSpans(tracer: Tracer): JobTracing {
  return {
    enqueued(queueName, jobId) {
      const span = tracer.startSpan(`add ${queueName}`, { kind: SpanKind.PRODUCER, attributes: attributes('add', queueName, jobId) });
      const carrier: Record<string, string> = {};
      propagation.inject(trace.setSpan(context.active(), span), carrier);
      span.end();
      return carrier;
    },
    processed(queueName, jobId, carried: JobTraceContext, run) {
      const parent = propagation.extract(context.active(), carried);
      const options = { kind: SpanKind.CONSUMER, attributes: attributes('process', queueName, jobId) };
      return tracer.startActiveSpan(`process ${queueName}`, options, parent, async (span) => {
        try {
          return await run();
        } catch (error) {
          if (error instanceof Error) span.recordException(error);
          span.setStatus({ code: SpanStatusCode.ERROR });
          throw error;
        } finally {
          span.end();
        }
      });
    },
  };
}
