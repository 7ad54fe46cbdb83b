import { useEffect, useReducer } from 'preact/hooks';
import type { Readable } from './store';

/** A store's current value (store.ts), or its part's (selectFrom); the component redraws whenever it changes. */
export function useStore<T>(store: Readable<T>): T {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  const value = store.get();
  useEffect(() => {
    const redraw = () => bump(undefined);
    const unsubscribe = store.subscribe(redraw);
    // A change between this render and the subscription is not missed.
    if (!Object.is(store.get(), value)) redraw();
    return unsubscribe;
  }, [store]);
  return value;
}
