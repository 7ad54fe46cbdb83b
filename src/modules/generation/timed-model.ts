import type { Histogram } from 'prom-client';
import { ModelError, type ChatModel } from '../../integrations/gemini/model.js';

/**
 * The model with every call timed into `model_call_duration_seconds`, by outcome: `ok`, the model's
 * error code, `aborted` (stop or shutdown) or `error` (a failure that is not the model's, such as a
 * stream write in the delta callback).
 */
export function timedModel(model: ChatModel, histogram: Pick<Histogram<'outcome'>, 'startTimer'>): ChatModel {
  return {
    name: model.name,
    async generate(...args: Parameters<ChatModel['generate']>) {
      const end = histogram.startTimer();
      try {
        const outcome = await model.generate(...args);
        end({ outcome: 'ok' });
        return outcome;
      } catch (error) {
        const signal = args[2];
        end({ outcome: error instanceof ModelError ? error.code : signal.aborted ? 'aborted' : 'error' });
        throw error;
      }
    },
    // Titles are not replies: they stay out of the reply model-call histogram.
    proposeTitle: (...args: Parameters<ChatModel['proposeTitle']>) => model.proposeTitle(...args),
  };
}
