import type { FastifyBaseLogger } from 'fastify';
import { withTimeout } from '../../infra/deadline.js';
import type { StopSignals } from '../../infra/stop-signals.js';

const CHECK_TIMEOUT_MS = 1_000;

/** The abort reason of a generation that its owner stopped. */
export class StopRequested extends Error {
  override name = 'StopRequested';
}

export type RunningReplies = ReturnType<typeof createRunningReplies>;

/**
 * The worker's side of stopping: the replies this process is generating, each with an abort
 * controller that a stop request (from any process, through the signals) aborts with StopRequested.
 */
export function createRunningReplies({ signals, log }: { signals: Pick<StopSignals, 'subscribe' | 'isRequested'>; log: FastifyBaseLogger }) {
  const running = new Map<string, AbortController>();
  let subscribed: Promise<void> | undefined;
  const onStop = (replyId: string) => running.get(replyId)?.abort(new StopRequested(`reply ${replyId} was stopped`));

  return {
    /** Starts listening for stop requests (once per process). */
    listen(): Promise<void> {
      subscribed ??= signals.subscribe(onStop).catch((error: unknown) => {
        subscribed = undefined;
        log.error({ err: error }, 'could not subscribe to stop requests');
      });
      return subscribed;
    },
    /**
     * Registers a generation, then checks for a stop requested earlier. The api records a request
     * before it publishes it, so a request lands either in the registry or in the check, never in
     * neither: registering after the claim loses nothing.
     */
    async register(replyId: string): Promise<{ signal: AbortSignal; dispose(): void }> {
      const controller = new AbortController();
      running.set(replyId, controller);
      const dispose = () => {
        if (running.get(replyId) === controller) running.delete(replyId);
      };
      try {
        if (await withTimeout(signals.isRequested(replyId), CHECK_TIMEOUT_MS, 'the stop signals')) onStop(replyId);
      } catch (error) {
        log.warn({ err: error, replyId }, 'could not check for a stop request; the published one still reaches us');
      }
      return { signal: controller.signal, dispose };
    },
  };
}
