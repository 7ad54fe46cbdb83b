/**
 * The page's state that more than one view reads (the open chat, the files of the prompt, the
 * allowance, the alert): a value, who listens to it, and a hook for components. Actions outside any
 * component (a stream's events, an upload's progress) change it; every view that reads it redraws.
 */
import { useEffect, useReducer } from 'preact/hooks';

export interface Store<T> {
  get(): T;
  set(next: T): void;
  subscribe(listener: () => void): () => void;
}

export function createStore<T>(initial: T): Store<T> {
  let value = initial;
  const listeners = new Set<() => void>();
  return {
    get: () => value,
    set(next) {
      if (Object.is(next, value)) return;
      value = next;
      for (const listener of [...listeners]) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}

/** The store's current value; the component redraws whenever it changes. */
export function useStore<T>(store: Store<T>): T {
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
