import { promptsUsed } from '../billing/allowance.js';
import { attachFiles, attachmentsOf, lockAttachableFiles } from '../files/file.repository.js';
import { lockOwnedChatroom, setCurrentMessage } from '../chatrooms/chatroom.repository.js';
import { claimIdempotencyKey, findIdempotencyKey, recordIdempotentOutcome } from './idempotency.repository.js';
import { latestOnPath, newestDescendantOf, wholePath } from './message-path.repository.js';
import { siblingIdsOf, tokenTotalsOf } from './message-tree.repository.js';
import { findMessage, findOwnedMessage } from './message.repository.js';
import { lockSenderAndChatroom, writeGeneration } from './send.repository.js';

/**
 * The statements the message service runs, as one object it is given (narrowed with Pick): each
 * takes the executor it runs on (the database, or the transaction it belongs to), so the service
 * keeps deciding what runs in one transaction, and a unit test gives it fakes in memory.
 */
export const messageStore = {
  findMessage,
  findOwnedMessage,
  findIdempotencyKey,
  claimIdempotencyKey,
  recordIdempotentOutcome,
  lockSenderAndChatroom,
  writeGeneration,
  lockOwnedChatroom,
  setCurrentMessage,
  latestOnPath,
  wholePath,
  newestDescendantOf,
  siblingIdsOf,
  tokenTotalsOf,
  promptsUsed,
  lockAttachableFiles,
  attachFiles,
  attachmentsOf,
};

export type MessageStore = typeof messageStore;
