import type { FastifyBaseLogger } from 'fastify';
import { FINISHED, JobInterrupted, type GenerationQueue, type JobHandler } from '../../infra/queue/generation-queue.js';
import type { ChatModel } from '../../integrations/gemini/model.js';
import { DEFAULT_CHATROOM_TITLE, type ChatroomService } from '../chatrooms/chatroom.service.js';
import type { ReplyStore } from '../replies/reply-store.js';
import type { MessageRow } from '../replies/reply-state.js';

export const TITLE_MAX_CHARS = 60;

/**
 * Title jobs share the generation queue (and so its calls-per-minute budget for the model) under
 * ids of their own; their priority puts them behind every reply waiting, so a title never delays
 * an answer.
 */
const TITLE_JOB_PREFIX = 'title-';
const TITLE_PRIORITY = 10_000;

type Deps = {
  replies: Pick<ReplyStore, 'find' | 'firstFinishedOf'>;
  model: Pick<ChatModel, 'proposeTitle'>;
  queue: Pick<GenerationQueue, 'enqueue'>;
  chatrooms: Pick<ChatroomService, 'find' | 'applyGeneratedTitle'>;
  log: FastifyBaseLogger;
};

export type Titling = ReturnType<typeof createTitling>;

/**
 * Automatic titles: when the first reply of a chatroom still called "New chat" is done, a title
 * job asks the model for a short title and stores it unless the owner renamed the chatroom first.
 * Outside the user's allowance; best effort (a failed title is logged, never retried or shown).
 */
export function createTitling({ replies, model, queue, chatrooms, log }: Deps) {
  async function untitledFirstReply(chatroomId: string): Promise<MessageRow | undefined> {
    const room = await chatrooms.find(chatroomId);
    if (room?.title !== DEFAULT_CHATROOM_TITLE) return undefined;
    return replies.firstFinishedOf(chatroomId);
  }

  const titleJob = async (chatroomId: string, signal: AbortSignal): Promise<void> => {
    const first = await untitledFirstReply(chatroomId);
    const prompt = first?.parentId ? await replies.find(first.parentId) : undefined;
    if (!first || !prompt) return;
    let title: string;
    try {
      title = await model.proposeTitle({ prompt: prompt.content, reply: first.content }, TITLE_MAX_CHARS, signal);
    } catch (error) {
      if (signal.aborted) throw new JobInterrupted('the worker is shutting down', { cause: error });
      log.warn({ err: error, chatroomId }, 'could not generate a chatroom title; it keeps its name');
      return;
    }
    if (!title) return;
    const stored = await chatrooms.applyGeneratedTitle(chatroomId, title);
    log.info({ chatroomId, stored }, stored ? 'chatroom titled' : 'chatroom was renamed meanwhile; generated title dropped');
  };

  return {
    /**
     * After a reply is done: the first one of an untitled chatroom asks for a title (never blocking,
     * never failing the reply). A chatroom that had a title of its own when the reply began is left
     * alone without asking the database.
     */
    replyDone: async (reply: MessageRow, chatroomTitle: string): Promise<void> => {
      if (chatroomTitle !== DEFAULT_CHATROOM_TITLE) return;
      try {
        const first = await untitledFirstReply(reply.chatroomId);
        if (first?.id === reply.id) await queue.enqueue(`${TITLE_JOB_PREFIX}${reply.chatroomId}`, { priority: TITLE_PRIORITY });
      } catch (error) {
        log.warn({ err: error, chatroomId: reply.chatroomId }, 'could not ask for a chatroom title');
      }
    },

    /** The queue's handler: title jobs here, every other job to `generation`. */
    handler(generation: JobHandler): JobHandler {
      return async (jobId, run) => {
        if (!jobId.startsWith(TITLE_JOB_PREFIX)) return generation(jobId, run);
        await titleJob(jobId.slice(TITLE_JOB_PREFIX.length), run.signal);
        return FINISHED;
      };
    },
  };
}
