/**
 * The page's state that more than one view reads (the open chat, the files of the prompt, the
 * allowance, the alert): a value and who listens to it. Actions outside any component (a stream's
 * events, an upload's progress) change it; the views read it with useStore (use-store.ts) and redraw
 * when it changes. No imports: the unit tests run it in Node.
 */

/** What a view reads of a store, or of a part of one (selectFrom). */
export interface Readable<T> {
  get(): T;
  subscribe(listener: () => void): () => void;
}

export interface Store<T> extends Readable<T> {
  set(next: T): void;
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

/**
 * A part of a store, read as a store of its own: its listeners hear of a change only when that part
 * changed (Object.is), so a view that reads only whether a reply streams is not drawn again for each
 * streamed frame. `pick` must give the same value for the same state (a string, a boolean, an object
 * the store holds; never a new object each time). Made once, at a module's top: useStore subscribes
 * again whenever it is handed another one.
 */
export function selectFrom<T, S>(source: Readable<T>, pick: (value: T) => S): Readable<S> {
  return {
    get: () => pick(source.get()),
    subscribe(listener) {
      let last = pick(source.get());
      return source.subscribe(() => {
        const next = pick(source.get());
        if (Object.is(next, last)) return;
        last = next;
        listener();
      });
    },
  };
}
