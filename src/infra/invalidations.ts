import type { FastifyBaseLogger } from 'fastify';
import type { Broadcast } from './broadcast.js';

/** How often an announcement that could not be published is tried again. */
const RETRY_MS = 500;

type Deps = {
  broadcast: Broadcast;
  /** The broadcast channel of this kind of copy. */
  channel: string;
  /** Drops the copies one announcement names, in this process. */
  drop: (message: string) => void;
  /** Drops every copy in this process: announcements may have been missed. */
  dropAll: () => void;
  /** What an announcement tells, for the log ("a session change"). */
  what: string;
  log: FastifyBaseLogger;
};

export type Invalidations = ReturnType<typeof createInvalidations>;

/**
 * What keeps a process's own copies of shared state (sessions, share views) as true as the database,
 * with every process announcing what it changes:
 *
 * - An announcement drops the copies it names here at once, then in every other process through the
 *   broadcast. One that cannot be published is tried again until the copies it covers have aged out.
 * - While this process is not subscribed (Redis unreachable, reconnecting) no copy may be trusted
 *   (`live` is false), and after each (re)subscription every copy is dropped, since whatever was
 *   announced meanwhile is lost.
 * - A copy read from the database while an announcement arrived is not kept (it may predate the
 *   change): every announcement moves `epoch` on, and a copy is kept only under the epoch its read
 *   began in.
 */
export function createInvalidations({ broadcast, channel, drop, dropAll, what, log }: Deps) {
  let epoch = 0;
  let listening = false;

  function heard(message: string) {
    epoch++;
    drop(message);
  }

  /** Announcements that could not be published, with when the copies they cover have aged out. */
  const unannounced = new Map<string, number>();
  let retryTimer: NodeJS.Timeout | undefined;

  function retryLater() {
    if (retryTimer !== undefined || unannounced.size === 0) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void (async () => {
        // Over a copy: one that fails again waits for the next round instead of being tried at once.
        for (const [message, until] of [...unannounced]) {
          if (until > Date.now()) await publish(message, until);
          else unannounced.delete(message);
        }
        retryLater();
      })();
    }, RETRY_MS);
    retryTimer.unref();
  }

  async function publish(message: string, until: number) {
    try {
      await broadcast.publish(channel, message);
      unannounced.delete(message);
    } catch (error) {
      // Other processes keep their copy until told or aged out, unless their own connection fails too.
      if (!unannounced.has(message)) log.error({ err: error }, `could not announce ${what} to other processes; trying again until their copies age out`);
      unannounced.set(message, until);
      retryLater();
    }
  }

  return {
    /** Subscribes, once: on first use, so that a process that never reads these copies (a worker) holds no subscription. */
    listen(): void {
      if (listening) return;
      listening = true;
      broadcast.subscribe(channel, heard);
      broadcast.onGap(() => {
        epoch++;
        dropAll();
      });
    },
    /** Whether copies may be served and kept now: every announcement reaches this process. */
    get live(): boolean {
      return broadcast.live;
    },
    /** Take before reading the database; a copy of what it returned is kept only if this is still the epoch. */
    epoch: () => epoch,
    /** Drops the copies `message` names here, then everywhere; other processes' copies live at most `copiesLiveMs`. */
    async announce(message: string, copiesLiveMs: number): Promise<void> {
      heard(message); // here at once, whatever happens to the broadcast
      await publish(message, Date.now() + copiesLiveMs);
    },
  };
}
