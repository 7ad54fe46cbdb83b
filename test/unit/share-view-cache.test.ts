import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryBroadcast } from '../../src/infra/broadcast.js';
import { memoryCache } from '../../src/infra/cache.js';
import { createLogger } from '../../src/infra/logger.js';
import { createShareViewCache } from '../../src/modules/shares/share-view-cache.js';
import { failingBroadcast } from './fakes/failing-broadcast.js';

/*
 * A revoked share's view must not outlive the revocation anywhere. Here: the revoking process, the
 * shared cache, and the other processes when the broadcast that tells them fails for a while.
 */

const log = createLogger('silent');

describe('revoking a share while the broadcast fails', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('forgets the view here and in the shared cache at once, and tells the others once the broadcast is back', async () => {
    vi.useFakeTimers({ now: new Date('2026-12-05T12:00:00Z') });
    const { broadcast, sent, recover } = failingBroadcast();
    const cache = memoryCache();
    const views = createShareViewCache({ cache, broadcast, log });
    const view = Buffer.from('{"title":"shared"}');
    const { read } = await views.get('share-1');
    await views.set('share-1', view, read);
    expect((await views.get('share-1')).view?.toString()).toBe(view.toString());

    await expect(views.forget(['share-1'])).resolves.toBeUndefined();
    expect((await views.get('share-1')).view).toBeUndefined();
    expect(await cache.get('share:share-1')).toBeUndefined();
    expect(sent).toEqual(['share-1']);

    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toEqual(['share-1', 'share-1']);
    recover();
    await vi.advanceTimersByTimeAsync(500);
    await vi.advanceTimersByTimeAsync(5_000);
    // Through on the third try, and not sent again.
    expect(sent).toHaveLength(3);
  });

  it('gives up once the other processes\' copies have aged out', async () => {
    vi.useFakeTimers({ now: new Date('2026-12-05T12:00:00Z') });
    const { broadcast, sent } = failingBroadcast();
    const views = createShareViewCache({ cache: memoryCache(), broadcast, log });
    await views.forget(['share-2']);
    await vi.advanceTimersByTimeAsync(10_000);
    const triedWhileCopiesLive = sent.length;
    expect(triedWhileCopiesLive).toBeGreaterThanOrEqual(10);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sent).toHaveLength(triedWhileCopiesLive);
  });
});

describe('a view read before a revoke and kept after it', () => {
  it('is kept in neither cache: the next read goes to the database', async () => {
    const cache = memoryCache();
    const views = createShareViewCache({ cache, broadcast: memoryBroadcast(), log });
    const { read } = await views.get('share-3'); // a miss: the reader goes to the database…
    await views.forget(['share-3']); // …where the owner revokes the share meanwhile…
    await views.set('share-3', Buffer.from('{"title":"revoked"}'), read); // …and the reader keeps what it read.
    expect(await cache.get('share:share-3')).toBeUndefined();
    expect((await views.get('share-3')).view).toBeUndefined();
  });
});
