/**
 * The API's types as the page uses them, all from the server's own OpenAPI document (web/generated,
 * made by the build): a route whose schema changes under the page fails `npm run typecheck`.
 */
import type { components, paths } from '../generated/api';

type Schemas = components['schemas'];

export type ApiPaths = paths;
export type User = Schemas['User'];
export type TokenPair = Schemas['TokenPair'];
export type OtpIssued = Schemas['OtpIssued'];
export type SubscriptionStatus = Schemas['SubscriptionStatus'];
export type ChatroomSettings = Schemas['ChatroomSettings'];
export type Message = Schemas['Message'];
export type Chatroom = Schemas['Chatroom'];
export type Conversation = Schemas['ChatroomWithMessages'];
export type ModelChoice = Schemas['ModelList']['items'][number];
/**
 * A settings change as PATCH /chatroom/:id takes it. Its `model` is any string in the document (each
 * deployment has its own GEMINI_MODELS); the page offers what GET /models answers at run time.
 */
export type SettingsChange = NonNullable<paths['/chatroom/{id}']['patch']['requestBody']['content']['application/json']['settings']>;

/** An RFC 9457 problem, as every API error is. */
export interface Problem {
  status: number;
  code?: string;
  title?: string;
  detail?: string;
  requestId?: string;
}

/** A stored file (API.md "Files and multimodal prompts"). */
export type StoredFile = Schemas['File'];

/** POST /chatroom/:id/message's body: absent parentId continues the current branch; a reply's id or null is an edit. */
export type PromptBody = NonNullable<paths['/chatroom/{id}/message']['post']['requestBody']>['content']['application/json'];

/** A hit of GET /search (API.md "Search, sharing, feedback"). */
// `highlights` as the client reads it: pairs of offsets (the document's tuple reaches the client as arrays).
export type SearchHit = Omit<Schemas['SearchHit'], 'highlights'> & { highlights: number[][] };
