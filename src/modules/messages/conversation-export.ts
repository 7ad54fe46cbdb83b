import { markCitations } from '../../shared/citation-marks.js';
import type { ChatroomDto } from '../chatrooms/chatroom.schemas.js';
import type { MessageDto } from './message.schemas.js';

export interface ExportedBranch {
  chatroom: ChatroomDto;
  messages: MessageDto[];
}

/** A file name any system accepts, from the chatroom's title and id. */
export function exportFileName(chatroom: ChatroomDto, format: 'json' | 'markdown'): string {
  const slug = chatroom.title
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .toLowerCase();
  return `${slug || 'chat'}-${chatroom.id.slice(0, 8)}.${format === 'json' ? 'json' : 'md'}`;
}

type Grounding = NonNullable<MessageDto['grounding']>;

/** The answer with ` [1][2]` after each cited span, numbered as the source list is (from 1): the rule the chat page shares. */
export const withCitationMarks = (content: string, grounding: Grounding): string =>
  markCitations(content, grounding, { mark: (numbers) => ` ${numbers.map((n) => `[${n}]`).join('')}` });

/** `Sources:` and a numbered list of links, or nothing when the answer has none. */
function sourceList(grounding: Grounding): string[] {
  if (grounding.sources.length === 0) return [];
  // Brackets in a title would end the link text early.
  const text = (title: string) => title.replace(/[[\]\\]/g, (char) => `\\${char}`);
  return ['Sources:', '', ...grounding.sources.map((source, index) => `${index + 1}. [${text(source.title)}](<${source.uri}>)`)];
}

/** The branch as a readable transcript: one section per turn, replies as the model wrote them (Markdown already). */
export function toMarkdown({ chatroom, messages }: ExportedBranch): string {
  const lines = [`# ${chatroom.title}`, '', `${messages.length} messages, the branch on screen`, ''];
  for (const message of messages) {
    const who = message.role === 'user' ? 'You' : 'Gemini';
    lines.push(`## ${who} · ${message.createdAt}`, '');
    if (message.role === 'model' && message.status === 'failed') lines.push(`_(no reply: ${message.error?.message ?? 'failed'})_`);
    else if (message.role === 'model' && message.status !== 'done') lines.push('_(still being generated)_');
    else if (message.grounding) lines.push(withCitationMarks(message.content, message.grounding), '', ...sourceList(message.grounding));
    else lines.push(message.content);
    // Files are named, not embedded: the export is a transcript (JSON lists them whole).
    for (const file of message.attachments) {
      lines.push(`- Attached: ${file.name} (${file.mimeType}, ${file.sizeBytes} bytes${file.deleted ? ', deleted' : ''})`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
