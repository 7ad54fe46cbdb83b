import { Component, type FunctionComponent } from 'preact';

/**
 * A component drawn again only when one of its props changed (the same test as preact/compat's
 * memo, without compat's weight in the bundle).
 */
export function memo<P extends object>(view: FunctionComponent<P>): new (props: P) => Component<P> {
  return class Memo extends Component<P> {
    override shouldComponentUpdate(next: P): boolean {
      const now = this.props as Record<string, unknown>;
      const then = next as Record<string, unknown>;
      for (const key in then) if (!Object.is(then[key], now[key])) return true;
      for (const key in now) if (!(key in then)) return true;
      return false;
    }

    override render(props: P) {
      return view(props);
    }
  };
}
