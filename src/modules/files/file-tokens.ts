import type { FileFacts, FileFamily } from './file-facts.js';

/*
 * What a file costs in Gemini's context, in tokens, by Google's documented rates. Used to fit a
 * conversation into the context window before sending it, so an estimate errs on the generous side
 * where a fact is unknown.
 */

const TOKENS_PER_IMAGE_TILE = 258;
// An image no larger than this either way is one tile; a larger one is cut into 768 px tiles.
const SMALL_IMAGE_PX = 384;
const TILE_PX = 768;
// Unknown size (a JPEG whose frame header was not found): a 1536×1536 picture's worth, about a phone photo scaled down.
const UNKNOWN_IMAGE_TILES = 4;

const TOKENS_PER_PDF_PAGE = 258;
// Unknown page count (pages inside compressed object streams): a page per 100 KiB, a typical scanned or illustrated page.
const PDF_BYTES_PER_PAGE_ESTIMATE = 100 * 1024;

const AUDIO_TOKENS_PER_SECOND = 32;
// Unknown duration: 16 000 bytes a second is a 128 kbit/s MP3; uncompressed audio is larger, so is over-counted.
const AUDIO_BYTES_PER_SECOND_ESTIMATE = 16_000;

// About four bytes of UTF-8 a token for English; other scripts take more bytes a character and about as many a token.
const TEXT_BYTES_PER_TOKEN = 4;

function imageTokens(facts: FileFacts): number {
  const { width, height } = facts;
  if (!width || !height) return UNKNOWN_IMAGE_TILES * TOKENS_PER_IMAGE_TILE;
  if (width <= SMALL_IMAGE_PX && height <= SMALL_IMAGE_PX) return TOKENS_PER_IMAGE_TILE;
  return Math.ceil(width / TILE_PX) * Math.ceil(height / TILE_PX) * TOKENS_PER_IMAGE_TILE;
}

/**
 * More than any model's whole context: a cost past it means a header that lies (a PNG claiming
 * 4 billion pixels a side in 45 bytes), and the cost is stored in an integer column.
 */
const MOST_TOKENS = 100_000_000;

/** The tokens a file costs as part of a prompt. */
export function tokenCostOf(file: { mimeType: string; family: FileFamily; sizeBytes: number; facts: FileFacts }): number {
  const cost = estimatedTokens(file);
  return Number.isFinite(cost) ? Math.min(cost, MOST_TOKENS) : MOST_TOKENS;
}

function estimatedTokens(file: { mimeType: string; family: FileFamily; sizeBytes: number; facts: FileFacts }): number {
  switch (file.family) {
    case 'image':
      return imageTokens(file.facts);
    case 'pdf': {
      const pages = file.facts.pages || Math.max(1, Math.ceil(file.sizeBytes / PDF_BYTES_PER_PAGE_ESTIMATE));
      return pages * TOKENS_PER_PDF_PAGE;
    }
    case 'audio': {
      const seconds = file.facts.durationSeconds ?? file.sizeBytes / AUDIO_BYTES_PER_SECOND_ESTIMATE;
      return Math.max(1, Math.ceil(seconds * AUDIO_TOKENS_PER_SECOND));
    }
    case 'text':
      return Math.ceil(file.sizeBytes / TEXT_BYTES_PER_TOKEN);
  }
}

/** The tokens of a message's text. */
export function textTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / TEXT_BYTES_PER_TOKEN);
}
