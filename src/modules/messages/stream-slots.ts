import { AppError } from '../../http/app-error.js';

/**
 * A per-user cap on open event streams in this process: each costs a socket and a listener, and a
 * client that opens hundreds is a bug or an attack. (Per process: behind a load balancer the
 * effective cap is this times the api instances, which still bounds each process.)
 */
export function createStreamSlots(maxPerUser: number) {
  const open = new Map<string, number>();
  return {
    /** Takes a slot or throws 429; the returned function gives it back (once). */
    acquire(userId: string): () => void {
      const count = open.get(userId) ?? 0;
      if (count >= maxPerUser) {
        throw new AppError('TOO_MANY_STREAMS', 429, `At most ${maxPerUser} event streams may be open at once per user; close one and try again`);
      }
      open.set(userId, count + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (open.get(userId) ?? 1) - 1;
        if (left <= 0) open.delete(userId);
        else open.set(userId, left);
      };
    },
  };
}

export type StreamSlots = ReturnType<typeof createStreamSlots>;
