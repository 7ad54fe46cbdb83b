import { randomUUID } from 'node:crypto';
import type { MessageRow } from '../../../src/modules/replies/reply-state.js';

const EPOCH = new Date(0);

/**
 * A message row as the database holds it, every column at its empty value (a finished prompt of
 * nobody's, in no chatroom) unless `fields` says otherwise: the unit tests' one builder of rows, so
 * that a new column is added here once.
 */
export function messageRow(fields: Partial<MessageRow> & Pick<MessageRow, 'role'>): MessageRow {
  return {
    id: randomUUID(),
    seq: 1,
    chatroomId: 'room',
    userId: 'user',
    parentId: null,
    content: '',
    thoughts: null,
    grounding: null,
    feedbackRating: null,
    feedbackReason: null,
    feedbackComment: null,
    feedbackModel: null,
    feedbackUpdatedAt: null,
    status: 'done',
    finishReason: null,
    errorCode: null,
    errorMessage: null,
    promptTokens: null,
    outputTokens: null,
    thoughtsTokens: null,
    cachedTokens: null,
    totalTokens: null,
    contextTruncated: false,
    model: null,
    allowanceDay: null,
    createdAt: EPOCH,
    updatedAt: EPOCH,
    completedAt: null,
    ...fields,
  };
}
