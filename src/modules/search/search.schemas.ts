import { z } from 'zod';
import { pageOf } from '../../http/pagination.js';

export const searchQuery = z.object({
  q: z
    .string()
    .min(1, 'must be 1-200 characters')
    .max(200, 'must be 1-200 characters')
    .meta({ description: 'Words (matched by prefix, all of them), "quoted phrases", -word to exclude; case and accents do not matter' }),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(300).optional(),
});

export const searchHitSchema = z
  .object({
    chatroomId: z.string(),
    chatroomTitle: z.string(),
    messageId: z.string().nullable().meta({ description: 'null for a hit on the chatroom title (the snippet is the title)' }),
    role: z.enum(['user', 'model']).nullable(),
    snippet: z.string().meta({ description: 'Plain text (show it as text, never as HTML), at most 200 characters' }),
    highlights: z
      // Pairs as arrays of two, not tuples: OpenAPI 3.0 tools (Prism's validator, many generators) read no prefixItems.
      .array(z.array(z.number().int()).length(2))
      .meta({ description: '[start, end) pairs: offsets in UTF-16 code units of the matched words in snippet' }),
    createdAt: z.string(),
  })
  .meta({ id: 'SearchHit' });

export type SearchHitDto = z.infer<typeof searchHitSchema>;

export const searchPageSchema = pageOf(searchHitSchema).meta({ id: 'SearchHitPage' });
