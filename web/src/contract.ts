/**
 * The API's types as the page uses them, from the server's own OpenAPI document (web/generated,
 * made by the build). Where API.md promises something the document of this branch does not have yet
 * (the conversation-control routes and fields), the page describes it here from API.md; each such
 * stand-in gives way by itself as soon as the server publishes the real one, so the page is then
 * checked against the server's schemas instead.
 */
import type { components, paths as PublishedPaths } from '../generated/api';

type Schemas = components['schemas'];

export type User = Schemas['User'];
export type TokenPair = Schemas['TokenPair'];
export type OtpIssued = Schemas['OtpIssued'];
export type SubscriptionStatus = Schemas['SubscriptionStatus'];

export interface ChatroomSettings {
  systemInstruction: string | null;
  model: string | null;
  temperature: number | null;
}

/** Conversation control (API.md): optional here so that the page also runs against a server without it. */
type TreeFields = { parentId?: string | null; siblingIds?: string[] };
type RoomFields = { settings?: ChatroomSettings; currentMessageId?: string | null };

export type Message = Schemas['Message'] & TreeFields;
export type Chatroom = Schemas['Chatroom'] & RoomFields;
export type Conversation = Omit<Schemas['ChatroomWithMessages'], 'messages'> & RoomFields & { messages: Message[] };
export type ModelChoice = { id: string; default: boolean };

type Json<T> = { content: { 'application/json': T } };
type Path<P> = { path: P; query?: never; header?: never; cookie?: never };
type Answer<T> = { headers: Record<string, unknown> } & Json<T>;
type Route<Op> = { parameters: { query?: never; header?: never; path?: never; cookie?: never } } & Op;

/** API.md routes not (yet) in the published document, in the shape openapi-typescript gives. */
interface PromisedPaths {
  '/chatroom/{id}/messages/{replyId}/regenerate': Route<{
    post: { parameters: Path<{ id: string; replyId: string }>; requestBody?: never; responses: { 200: Answer<Schemas['MessageExchange']> } };
  }>;
  '/chatroom/{id}/current-message': Route<{
    put: { parameters: Path<{ id: string }>; requestBody: Json<{ messageId: string }>; responses: { 200: Answer<Conversation> } };
  }>;
  '/models': Route<{ get: { parameters: { query?: never; header?: never; path?: never; cookie?: never }; requestBody?: never; responses: { 200: Answer<{ items: ModelChoice[] }> } } }>;
  '/chatroom/{id}/export': Route<{
    get: {
      parameters: { path: { id: string }; query: { format: 'json' | 'markdown' } };
      requestBody?: never;
      responses: { 200: { headers: Record<string, unknown>; content: { 'application/json': unknown; 'text/markdown': string } } };
    };
  }>;
}

export type ApiPaths = PublishedPaths & Omit<PromisedPaths, keyof PublishedPaths>;

/** An RFC 9457 problem, as every API error is. */
export interface Problem {
  status: number;
  code?: string;
  title?: string;
  detail?: string;
  requestId?: string;
}
