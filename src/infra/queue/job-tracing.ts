/**
 * How the in-process queue carries a trace from where a job is enqueued to where it runs (BullMQ
 * carries it itself, through its `telemetry` option). Given only when tracing is on: without it the
 * queue does no tracing work at all.
 */
export interface JobTracing {
  /** Called as a job is enqueued, in the enqueuer's context: records the send; answers what the job carries. */
  enqueued(queueName: string, jobId: string): JobTraceContext;
  /** Runs one run of a job inside a span of the trace it carries. */
  processed<T>(queueName: string, jobId: string, carried: JobTraceContext, run: () => Promise<T>): Promise<T>;
}

/** A trace context as W3C Trace Context headers (`traceparent`, `tracestate`), as a job carries it. */
export type JobTraceContext = Readonly<Record<string, string>>;
