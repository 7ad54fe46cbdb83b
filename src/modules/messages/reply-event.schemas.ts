import { z } from 'zod';
import { eventStreamMedia } from '../../http/openapi.js';
import { exchangeSchema, groundingSchema, messageSchema } from './message.schemas.js';

/*
 * The events of a reply's Server-Sent Events stream (reply-events.ts writes them), for the OpenAPI
 * document: each `{ id, event, data }`, where `data` is the JSON of the event's one `data:` line.
 */

/** A grounded reply's sources, as the grounding event carries them (API.md "Gemini-native replies"). */
export const groundingEventDataSchema = z
  .object({ grounding: groundingSchema })
  .meta({ id: 'GroundingEventData', description: 'The Google Search grounding of the reply, once the model sends it' });

const textChunkSchema = z.object({ text: z.string() }).meta({ id: 'TextChunk', description: 'A piece of text to append to what the client holds' });
const streamErrorSchema = z
  .object({ code: z.string(), message: z.string() })
  .meta({ id: 'StreamError', description: 'The reply failed (its error), was deleted, or the stream broke: poll the reply or reconnect' });

const eventOf = <const Name extends string>(name: Name, data: z.ZodType, description: string) =>
  z
    .object({
      event: z.literal(name),
      id: z.string().optional().meta({ description: 'Send it back as Last-Event-ID to resume after this event (absent on a broken stream\'s error)' }),
      data,
    })
    .meta({ description });

const replyEvents = [
  eventOf('delta', textChunkSchema, "Answer text: a client joining late first gets the text so far as one delta"),
  eventOf('thought', textChunkSchema, 'Thought-summary text (settings.thinking.includeThoughts), never part of content'),
  eventOf('grounding', groundingEventDataSchema, 'Where the answer came from (settings.grounding)'),
  eventOf('reset', z.object({}), 'A retry starts the text over: drop the text and thoughts held so far'),
  eventOf('done', messageSchema, 'The finished reply; the last event'),
  eventOf('error', streamErrorSchema, 'The reply failed, or the stream ended early; the last event'),
] as const;
const replyEventNames = ['delta', 'thought', 'grounding', 'reset', 'done', 'error'];

export const replyEventSchema = z.discriminatedUnion('event', [...replyEvents]).meta({ id: 'ReplyEvent', description: 'An event of a reply stream' });

const sendEventSchema = z
  .discriminatedUnion('event', [eventOf('message', exchangeSchema, 'First: the stored prompt and the pending reply'), ...replyEvents])
  .meta({ id: 'SendMessageEvent', description: 'An event of the stream that answers a send or a regenerate' });

const followMessageEventSchema = z
  .discriminatedUnion('event', [eventOf('message', messageSchema, 'First: the message as it is now'), ...replyEvents])
  .meta({ id: 'FollowMessageEvent', description: 'An event of the stream of GET …/messages/:messageId with Accept: text/event-stream' });

/** POST …/message and …/regenerate with Accept: text/event-stream. */
export const sendEventStream = eventStreamMedia(sendEventSchema, ['message', ...replyEventNames]);
/** GET …/messages/:messageId with Accept: text/event-stream. */
export const followMessageEventStream = eventStreamMedia(followMessageEventSchema, ['message', ...replyEventNames]);
/** GET …/messages/:replyId/stream. */
export const replyEventStream = eventStreamMedia(replyEventSchema, replyEventNames);
