import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.js';
import { createInfrastructure, type Infrastructure, type InfrastructureOverrides } from './composition/infrastructure.js';
import { createServices, type Services } from './composition/services.js';
import { startWorker, type Worker } from './composition/worker.js';

export { databaseOptionsFrom } from './composition/infrastructure.js';
export type ContainerOverrides = InfrastructureOverrides;

/**
 * The composition root, in three layers each built by its own function (composition/): the
 * infrastructure (drivers and connections), the services on it (what the HTTP app is given), and the
 * worker (roles `all` and `worker`). The container is the process's handle on the three; its fields
 * are the layers' own, flattened for the callers that reach into one (main, tests).
 */
export type Container = Infrastructure &
  Services & {
    config: Config;
    log: FastifyBaseLogger;
    services: Services;
    /** Consumes the generation queue and runs the recovery and retention sweeps (roles `all` and `worker`). */
    startWorker(): void;
    /**
     * Stops the worker: no new jobs; running generations get `graceMs` to finish, then their model
     * calls are aborted and their jobs handed back to the queue (no attempt counted).
     */
    stopWorker(graceMs: number): Promise<void>;
    /** Stops the worker (half the shutdown grace), then closes the infrastructure. */
    close(): Promise<void>;
  };

export async function createContainer(config: Config, log: FastifyBaseLogger, overrides: ContainerOverrides = {}): Promise<Container> {
  const infra = await createInfrastructure(config, log, overrides);
  const services = createServices(config, log, infra);
  let worker: Worker | undefined;

  const stopWorker = async (graceMs: number) => {
    const running = worker;
    worker = undefined;
    await running?.close(graceMs);
  };

  return {
    ...infra,
    ...services,
    config,
    log,
    services,
    startWorker() {
      worker ??= startWorker(config, log, infra, services);
    },
    stopWorker,
    async close() {
      // Half the shutdown grace for jobs: the HTTP server closes first within the same budget.
      await stopWorker(Math.floor(config.SHUTDOWN_GRACE_MS / 2));
      await infra.close();
    },
  };
}
