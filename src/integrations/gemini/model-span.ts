import { SpanKind, SpanStatusCode, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { ModelError, type ChatModel, type ModelOutcome } from './model.js';

/*
 * The model call as a span of the OpenTelemetry GenAI semantic conventions: named `chat <model>`,
 * with the provider, the model asked for, the tokens and the finish reason. Prompts and replies stay
 * out of it: they are the users' data, not telemetry. Only loaded when tracing is on.
 */

const PROVIDER = 'gcp.gemini';

function requestAttributes(model: string, temperature: number | null | undefined): Attributes {
  return {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': PROVIDER,
    // The name before semantic conventions 1.37, still the one many backends read.
    'gen_ai.system': PROVIDER,
    'gen_ai.request.model': model,
    ...(temperature != null ? { 'gen_ai.request.temperature': temperature } : {}),
  };
}

function recordOutcome(span: Span, outcome: ModelOutcome) {
  if (outcome.finishReason) span.setAttribute('gen_ai.response.finish_reasons', [outcome.finishReason]);
  if (outcome.usage) {
    span.setAttributes({ 'gen_ai.usage.input_tokens': outcome.usage.promptTokens, 'gen_ai.usage.output_tokens': outcome.usage.outputTokens });
  }
}

function recordFailure(span: Span, error: unknown, signal: AbortSignal) {
  // A stop or a shutdown aborts the call on purpose: not the model's failure.
  if (signal.aborted && !(error instanceof ModelError)) {
    span.addEvent('call aborted (stopped or shutting down)');
    return;
  }
  const type = error instanceof ModelError ? error.code : error instanceof Error ? error.name : 'Error';
  span.setAttribute('error.type', type);
  if (error instanceof ModelError && error.finishReason) span.setAttribute('gen_ai.response.finish_reasons', [error.finishReason]);
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

async function inSpan<T>(tracer: Tracer, model: string, temperature: number | null | undefined, signal: AbortSignal, call: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(`chat ${model}`, { kind: SpanKind.CLIENT, attributes: requestAttributes(model, temperature) }, async (span) => {
    try {
      return await call(span);
    } catch (error) {
      recordFailure(span, error, signal);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The model with each reply and each title a `chat <model>` span (a child of the job's span, so of the prompt's trace). */
export function tracedModel(model: ChatModel, tracer: Tracer): ChatModel {
  return {
    name: model.name,
    generate: (turns, onDelta, signal, settings, onThought) =>
      inSpan(tracer, settings?.model ?? model.name, settings?.temperature, signal, async (span) => {
        const outcome = await model.generate(turns, onDelta, signal, settings, onThought);
        recordOutcome(span, outcome);
        return outcome;
      }),
    proposeTitle: (exchange, maxChars, signal) => inSpan(tracer, model.name, undefined, signal, () => model.proposeTitle(exchange, maxChars, signal)),
    ...(model.warmUp ? { warmUp: model.warmUp.bind(model) } : {}),
  };
}
