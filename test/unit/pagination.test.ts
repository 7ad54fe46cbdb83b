import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/http/app-error.js';
import { decodeCursor, decodeSeqCursor, encodeCursor, encodeSeqCursor, paginationQuery, toPage } from '../../src/http/pagination.js';

/* Paging (API.md "Pagination"): nextCursor takes the client to the next page; anything else is a 400 naming `cursor`. */

const b64 = (text: string) => Buffer.from(text).toString('base64url');

function refusal(decode: () => unknown): AppError {
  try {
    decode();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('the cursor was accepted');
}

describe('keyset cursors', () => {
  it('give back the position they were made from', () => {
    const position = { createdAt: new Date('2026-04-01T08:30:00.123Z'), id: randomUUID() };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
  });

  it('round-trip any position from 1970 to 9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.UTC(9999, 11, 31) }), fc.uuid(), (ms, id) => {
        const position = { createdAt: new Date(ms), id };
        expect(decodeCursor(encodeCursor(position))).toEqual(position);
      }),
      { seed: 1 },
    );
  });

  it('are opaque: no timestamp or id is readable in them', () => {
    const id = randomUUID();
    const cursor = encodeCursor({ createdAt: new Date('2026-04-01T08:30:00Z'), id });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(cursor).not.toContain(id);
  });

  it.each([
    ['not base64 JSON', 'garbage!!'],
    ['JSON of another shape', b64(JSON.stringify({ createdAt: '2026-04-01T08:30:00Z', id: randomUUID() }))],
    ['an id that is not a UUID', b64(JSON.stringify(['2026-04-01T08:30:00Z', "1' or 1=1 --"]))],
    ['a date that is not ISO', b64(JSON.stringify(['April 1st', randomUUID()]))],
    ['a date before 1970 (out of range for the query)', b64(JSON.stringify(['0000-01-01T00:00:00Z', randomUUID()]))],
    ['a date in year 10000', b64(JSON.stringify(['+010000-01-01T00:00:00Z', randomUUID()]))],
    ['extra members', b64(JSON.stringify(['2026-04-01T08:30:00Z', randomUUID(), 'more']))],
  ])('refuse %s with 400 VALIDATION_FAILED naming the cursor', (_what, cursor) => {
    const error = refusal(() => decodeCursor(cursor));
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    expect(error.options.errors).toEqual([{ path: 'cursor', message: expect.stringContaining('nextCursor') }]);
  });
});

describe('sequence cursors (messages)', () => {
  it('give back the sequence number they were made from', () => {
    for (const seq of [0, 1, 41, 999_999_999_999_999]) expect(decodeSeqCursor(encodeSeqCursor(seq))).toBe(seq);
  });

  it.each([
    ['a keyset cursor', encodeCursor({ createdAt: new Date(), id: randomUUID() })],
    ['a negative number', b64('seq:-1')],
    ['a number past 15 digits', b64('seq:1234567890123456')],
    ['a bare number', b64('42')],
    ['trailing text', b64('seq:42; drop table')],
  ])('refuse %s with 400 VALIDATION_FAILED', (_what, cursor) => {
    expect(refusal(() => decodeSeqCursor(cursor))).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
  });
});

describe('a page', () => {
  const rows = [1, 2, 3, 4, 5].map((n) => ({ n }));
  const present = (row: { n: number }) => `item ${row.n}`;
  const cursorOf = (row: { n: number }) => `after ${row.n}`;

  it('holds `limit` items and a cursor naming its last one when more rows exist', () => {
    expect(toPage(rows, 3, present, cursorOf)).toEqual({ items: ['item 1', 'item 2', 'item 3'], nextCursor: 'after 3' });
  });

  it('has no next cursor when it is the last page (the extra row was not there)', () => {
    expect(toPage(rows.slice(0, 3), 3, present, cursorOf)).toEqual({ items: ['item 1', 'item 2', 'item 3'], nextCursor: null });
    expect(toPage([], 3, present, cursorOf)).toEqual({ items: [], nextCursor: null });
  });

  it('is 20 items by default and 1 to 100 on request', () => {
    expect(paginationQuery.parse({})).toEqual({ limit: 20 });
    expect(paginationQuery.parse({ limit: '100' }).limit).toBe(100);
    for (const limit of ['0', '101', '2.5', 'ten']) expect(paginationQuery.safeParse({ limit }).success).toBe(false);
  });
});
