import { PgDialect } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { getTableConfig } from 'drizzle-orm/pg-core';
import { messages } from '../../src/infra/db/schema.js';
import { isFinished, nextStatus, refundsPrompt, statesBefore, UNFINISHED_STATUSES, type ReplyStatus } from '../../src/modules/replies/reply-state.js';
import { isChatroomHead, isUnfinishedReply } from '../../src/modules/replies/reply.sql.js';

const ALL: ReplyStatus[] = ['pending', 'streaming', 'done', 'failed'];
const render = (fragment: Parameters<PgDialect['sqlToQuery']>[0]) => new PgDialect().sqlToQuery(fragment).sql;

describe('a reply\'s state machine', () => {
  it.each([
    ['pending', 'claim', 'streaming'],
    ['streaming', 'claim', 'streaming'], // a new attempt after a worker died mid-text
    ['streaming', 'release', 'pending'],
    ['streaming', 'complete', 'done'],
    ['pending', 'stop', 'done'],
    ['streaming', 'stop', 'done'],
    ['pending', 'fail', 'failed'],
    ['streaming', 'fail', 'failed'],
  ] as const)('%s --%s--> %s', (from, transition, to) => {
    expect(nextStatus(from, transition)).toBe(to);
  });

  it.each([
    ['pending', 'release'], // nobody was generating it
    ['pending', 'complete'], // a text is stored only by the attempt that claimed it
  ] as const)('refuses %s --%s', (from, transition) => {
    expect(nextStatus(from, transition)).toBeUndefined();
  });

  it('never moves a finished reply again, whatever is asked', () => {
    for (const status of ['done', 'failed'] as const) {
      for (const transition of ['claim', 'release', 'complete', 'stop', 'fail'] as const) expect(nextStatus(status, transition)).toBeUndefined();
    }
  });

  it('knows finished from unfinished, and the two lists cover every state once', () => {
    expect(ALL.filter((status) => isFinished({ status }))).toEqual(['done', 'failed']);
    expect(ALL.filter((status) => !isFinished({ status }))).toEqual([...UNFINISHED_STATUSES]);
  });

  it('says each transition\'s starting states as the SQL uses them', () => {
    expect(statesBefore('complete')).toEqual(['streaming']);
    expect(statesBefore('release')).toEqual(['streaming']);
    expect([...statesBefore('claim')].sort()).toEqual([...UNFINISHED_STATUSES].sort());
  });

  it('gives the prompt back for a failure, or a stop before any text; never for a stop with text or a completed reply', () => {
    expect(refundsPrompt('fail', 'partial text')).toBe(true);
    expect(refundsPrompt('stop', '')).toBe(true);
    expect(refundsPrompt('stop', 'Once upon')).toBe(false);
    expect(refundsPrompt('complete', '')).toBe(false);
  });
});

describe('the reply rules in SQL', () => {
  it('writes the unfinished states as literals, matching the partial indexes that serve the head lookups', () => {
    const fragment = render(isUnfinishedReply('m'));
    expect(fragment).toBe("m.role = 'model' and m.status in ('pending', 'streaming')");
    // The planner uses a partial index only when the query's condition implies the index's.
    const indexed = getTableConfig(messages).indexes.filter((index) => index.config.where !== undefined).map((index) => render(index.config.where as never));
    expect(indexed).toContain(fragment.replaceAll('m.', ''));
  });

  it('has no parameter a client could reach in the head rule', () => {
    const query = new PgDialect().sqlToQuery(isChatroomHead('m'));
    expect(query.params).toEqual([]);
    expect(query.sql).toContain('older.seq < m.seq');
  });
});
