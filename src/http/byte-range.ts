/** What a `Range` header asks of a body of `size` bytes (RFC 9110 §14). */
export type RangeRequest =
  | { kind: 'whole' }
  | { kind: 'part'; start: number; end: number } // inclusive
  | { kind: 'unsatisfiable' };

const SINGLE_RANGE = /^bytes=(\d{0,15})-(\d{0,15})$/;

/**
 * One range of bytes, as `bytes=a-b`, `bytes=a-` or `bytes=-n`. Anything this does not serve
 * (several ranges, other units, a malformed header) is answered whole, which RFC 9110 allows; a
 * range that starts past the end is unsatisfiable (416).
 */
export function rangeOf(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'whole' };
  const match = SINGLE_RANGE.exec(header.replace(/\s+/g, ''));
  if (!match) return { kind: 'whole' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'whole' };
  if (first === '') {
    // A suffix: the last n bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'part', start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return { kind: 'whole' }; // invalid: ignored, as the RFC says
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'part', start, end };
}
