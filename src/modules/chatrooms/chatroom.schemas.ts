import { z } from 'zod';
import { pageOf, paginationQuery } from '../../http/pagination.js';
import { pathId } from '../../http/path-id.js';
import { storableText } from '../../http/text.js';
import type { ChatroomRow } from './chatroom.repository.js';

const title = storableText(1, 120);

export const SYSTEM_INSTRUCTION_MAX_CHARS = 4000;

/** The widest budget any model takes; the chatroom's model narrows it (thinking-budget.ts). */
const MAX_THINKING_BUDGET = 32768;

const thinkingInput = z
  .object({
    budget: z
      .number()
      .int('must be a whole number of tokens')
      .min(-1, 'must be -1 (dynamic), 0 (off) or a number of tokens')
      .max(MAX_THINKING_BUDGET, `must be at most ${MAX_THINKING_BUDGET}`)
      .nullable()
      .default(null),
    includeThoughts: z.boolean().default(false),
  })
  .strict();

/**
 * Settings as a client sets them: any subset; a field left out is unchanged, `null` puts the
 * server's default back. `model` is checked against the configured models (GET /models).
 */
export const settingsInput = (models: readonly string[]) =>
  z
    .object({
      systemInstruction: storableText(1, SYSTEM_INSTRUCTION_MAX_CHARS).nullable().optional(),
      // A string in the document, checked against this deployment's models here: a client generated
      // against one deployment must not reject a model another one offers.
      model: z
        .string()
        .refine((model) => models.includes(model), { error: `must be one of ${models.join(', ')} (GET /models)` })
        .nullable()
        .optional()
        .meta({ description: 'One of GET /models' }),
      temperature: z.number().min(0, 'must be between 0 and 2').max(2, 'must be between 0 and 2').nullable().optional(),
      thinking: thinkingInput.nullable().optional(),
      grounding: z.boolean({ error: 'must be true or false' }).nullable().optional(),
    })
    .strict();

export type SettingsInput = z.infer<ReturnType<typeof settingsInput>>;

// The body is optional altogether: POST /chatroom with none makes a "New chat".
export const createChatroomBody = (models: readonly string[]) =>
  z.object({ title: title.optional(), settings: settingsInput(models).optional() }).nullish();
export const updateChatroomBody = (models: readonly string[]) =>
  z
    .object({ title: title.optional(), settings: settingsInput(models).optional() })
    .refine((body) => body.title !== undefined || body.settings !== undefined, 'give a title, settings, or both');
export const chatroomParams = z.object({ id: pathId });
export const listChatroomsQuery = paginationQuery;

export const thinkingSettingsSchema = z
  .object({ budget: z.number().int().nullable(), includeThoughts: z.boolean() })
  .meta({ id: 'ThinkingSettings', description: 'budget: null = the model default, 0 = off, -1 = the model decides, or tokens' });

export const chatroomSettingsSchema = z
  .object({
    systemInstruction: z.string().nullable(),
    model: z.string().nullable(),
    temperature: z.number().nullable(),
    thinking: thinkingSettingsSchema.nullable(),
    grounding: z.boolean().meta({ description: 'Answers may use Google Search and cite their sources (default false)' }),
  })
  .meta({ id: 'ChatroomSettings', description: 'Each null = the server default' });

export const chatroomSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    settings: chatroomSettingsSchema,
    currentMessageId: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Chatroom' });
export const chatroomPageSchema = pageOf(chatroomSchema);

export const modelListSchema = z
  .object({ items: z.array(z.object({ id: z.string(), default: z.boolean() })) })
  .meta({ id: 'ModelList' });

export type ChatroomDto = z.infer<typeof chatroomSchema>;
export type ChatroomPage = z.infer<typeof chatroomPageSchema>;

export const toChatroomDto = (row: ChatroomRow): ChatroomDto => ({
  id: row.id,
  title: row.title,
  settings: { systemInstruction: row.systemInstruction, model: row.model, temperature: row.temperature, thinking: row.thinking ?? null, grounding: row.grounding },
  currentMessageId: row.currentMessageId,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});
