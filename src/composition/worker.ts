import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import type { ReplyStream } from '../infra/reply-stream.js';
import { createModelFiles } from '../modules/files/model-files.js';
import { createGenerationJob } from '../modules/generation/generation.job.js';
import { startRecovery } from '../modules/generation/recovery.js';
import { createRetryPolicy } from '../modules/generation/retry-policy.js';
import { timedModel } from '../modules/generation/timed-model.js';
import { createTitling } from '../modules/generation/titles.js';
import { retentionPeriods, startRetention } from '../modules/maintenance/retention.js';
import { createRunningReplies } from '../modules/replies/running-replies.js';
import type { Infrastructure } from './infrastructure.js';
import type { Services } from './services.js';

export interface Worker {
  /**
   * Stops the worker: no new jobs; running generations get `graceMs` to finish, then their model
   * calls are aborted and their jobs handed back to the queue (no attempt counted).
   */
  close(graceMs: number): Promise<void>;
}

/** What a caller may change in the job (tests: another reply stream, more attempts). */
export interface GenerationJobOptions {
  stream?: Pick<ReplyStream, 'append'>;
  maxAttempts?: number;
}

type WorkerInfrastructure = Pick<Infrastructure, 'model' | 'stream' | 'stopSignals' | 'queue' | 'clock' | 'metrics' | 'fileStore' | 'database'>;

/** The generation job as the worker runs it, on this process's registry of running replies. */
export function buildGenerationJob(
  config: Config,
  log: FastifyBaseLogger,
  infra: WorkerInfrastructure,
  services: Pick<Services, 'replies' | 'scheduler' | 'chatrooms'>,
  options: GenerationJobOptions = {},
) {
  const running = createRunningReplies({ signals: infra.stopSignals, log });
  const titling = createTitling({ replies: services.replies, model: infra.model, queue: infra.queue, chatrooms: services.chatrooms, log });
  const job = createGenerationJob({
    replies: services.replies,
    model: timedModel(infra.model, infra.metrics.modelCallDuration),
    stream: options.stream ?? infra.stream,
    scheduler: services.scheduler,
    running,
    policy: createRetryPolicy({ maxAttempts: options.maxAttempts ?? config.GENERATION_MAX_ATTEMPTS, baseDelayMs: config.GENERATION_RETRY_BASE_MS }),
    clock: infra.clock,
    log,
    context: { tokens: config.GENERATION_CONTEXT_TOKENS, defaultInstruction: config.GEMINI_SYSTEM_INSTRUCTION },
    modelFiles: createModelFiles({ store: infra.fileStore, database: infra.database }),
    metrics: infra.metrics,
    ...(config.AUTO_TITLE ? { onReplyDone: titling.replyDone } : {}),
  });
  // Title jobs share the generation queue (and its model budget): one handler takes both.
  return { handler: titling.handler(job), running };
}

/** Roles `all` and `worker`: consumes the generation queue and runs the recovery and retention sweeps. */
export function startWorker(config: Config, log: FastifyBaseLogger, infra: Infrastructure, services: Services): Worker {
  const { database, clock, model } = infra;
  const { handler, running } = buildGenerationJob(config, log, infra, services);
  void running.listen();
  model.warmUp?.().catch((error: unknown) => log.error({ err: error }, 'could not load the model client'));
  const consumer = infra.queue.consume(handler);
  const recovery = startRecovery({ replies: services.replies, scheduler: services.scheduler, clock, log, intervalSeconds: config.GENERATION_RECOVERY_INTERVAL_SECONDS });
  const retention = startRetention({
    database,
    clock,
    log,
    periods: retentionPeriods(config.REFRESH_TOKEN_TTL_SECONDS),
    intervalSeconds: config.RETENTION_INTERVAL_SECONDS,
    files: services.files,
  });
  return {
    async close(graceMs) {
      retention.stop();
      recovery.stop();
      await consumer.close(graceMs);
    },
  };
}
