import { tracing } from '@opentelemetry/sdk-node';
import { describe, expect, it } from 'vitest';
import { tracedModel } from '../../src/integrations/gemini/model-span.js';
import { ModelError, type ChatModel, type ModelOutcome } from '../../src/integrations/gemini/model.js';

/*
 * The model call's span as an operator reads it in a tracing backend: what ended it, and whether it
 * counts as a failure. (test/tracing.test.ts follows the whole trace through real processes.)
 */

function traced(generate: ChatModel['generate']) {
  const exporter = new tracing.InMemorySpanExporter();
  const provider = new tracing.BasicTracerProvider({ spanProcessors: [new tracing.SimpleSpanProcessor(exporter)] });
  const model: ChatModel = { name: 'gemini-2.5-flash', generate, proposeTitle: () => Promise.resolve('A title') };
  return { model: tracedModel(model, provider.getTracer('test')), spans: () => exporter.getFinishedSpans() };
}

const answered: ModelOutcome = { finishReason: 'MAX_TOKENS', usage: { promptTokens: 40, outputTokens: 12, thoughtsTokens: 5, cachedTokens: 0, totalTokens: 57 }, grounding: null };
const noDeltas = () => Promise.resolve();

describe('the model call span', () => {
  it("is named after the chatroom's model and says how the answer ended and what it cost", async () => {
    const { model, spans } = traced(() => Promise.resolve(answered));
    await model.generate([{ role: 'user', text: 'Hi' }], noDeltas, new AbortController().signal, { model: 'gemini-2.5-pro', temperature: 0.3 });
    const [span] = spans();
    expect(span?.name).toBe('chat gemini-2.5-pro');
    expect(span?.attributes).toMatchObject({
      'gen_ai.request.model': 'gemini-2.5-pro',
      'gen_ai.request.temperature': 0.3,
      'gen_ai.response.finish_reasons': ['MAX_TOKENS'],
      'gen_ai.usage.input_tokens': 40,
      'gen_ai.usage.output_tokens': 12,
    });
    expect(span?.status.code).toBe(0);
  });

  it("records a withheld answer as an error with the model's reason", async () => {
    const { model, spans } = traced(() => Promise.reject(new ModelError('RESPONSE_BLOCKED', 'withheld', undefined, 'SAFETY')));
    await expect(model.generate([{ role: 'user', text: 'Hi' }], noDeltas, new AbortController().signal)).rejects.toThrow('withheld');
    const [span] = spans();
    expect(span?.status.code).toBe(2);
    expect(span?.attributes).toMatchObject({ 'error.type': 'RESPONSE_BLOCKED', 'gen_ai.response.finish_reasons': ['SAFETY'] });
    expect(span?.events.map((event) => event.name)).toContain('exception');
  });

  it('does not count a call stopped on purpose (a stop, a shutdown) as a failure', async () => {
    const stop = new AbortController();
    const { model, spans } = traced((_turns, _onDelta, signal) => {
      stop.abort();
      return Promise.reject(signal.reason as Error);
    });
    await expect(model.generate([{ role: 'user', text: 'Hi' }], noDeltas, stop.signal)).rejects.toThrow();
    const [span] = spans();
    expect(span?.status.code).toBe(0);
    expect(span?.attributes['error.type']).toBeUndefined();
    expect(span?.events.map((event) => event.name)).toEqual(['call aborted (stopped or shutting down)']);
  });

  it('traces a title call too, under the default model', async () => {
    const { model, spans } = traced(() => Promise.resolve(answered));
    await model.proposeTitle({ prompt: 'Hi', reply: 'Hello' }, 40, new AbortController().signal);
    expect(spans().map((span) => span.name)).toEqual(['chat gemini-2.5-flash']);
  });
});
