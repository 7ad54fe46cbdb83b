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
 * A settings change as PATCH /chatroom/:id takes it. Its `model` is an enum of the models the server
 * that generated the document was configured with (GEMINI_MODELS); the page offers what GET /models
 * answers at run time, which is that same list on the server it talks to.
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

/**
 * A stored file (API.md "Files and multimodal prompts"). Written by hand while this server's
 * document does not describe the file routes yet: once it does, this is Schemas['File'], and a user
 * Message's `attachments` comes with the generated Message (see attachmentsOf).
 */
export interface StoredFile {
  id: string;
  name: string;
  mimeType: string;
  sizeBytes: number;
  sha256: string;
  deleted: boolean;
  createdAt: string;
}

/** POST /chatroom/:id/message's body, with the files of API.md (assignable to the generated body). */
export interface PromptBody {
  content: string;
  attachmentIds?: string[];
  /** Absent: continue the current branch; a reply's id or null: an edit (a new branch from there). */
  parentId?: string | null;
}
