/**
 * The thinking budgets each Gemini model accepts (Google's documented ranges). A budget outside them
 * is refused by Gemini only at generation time, so a chatroom setting is checked against them up front.
 */
interface BudgetRange {
  min: number;
  max: number;
  /** 0 turns thinking off; models that cannot stop thinking refuse it. */
  canTurnOff: boolean;
}

const RANGES: Record<string, BudgetRange> = {
  'gemini-2.5-flash': { min: 1, max: 24576, canTurnOff: true },
  'gemini-2.5-pro': { min: 128, max: 32768, canTurnOff: false },
  'gemini-2.5-flash-lite': { min: 512, max: 24576, canTurnOff: true },
};

/**
 * Models that do not think: Gemini refuses any thinkingConfig for them at generation time, which
 * the user would only see as a failed reply.
 */
const NON_THINKING_MODELS = new Set(['gemini-2.0-flash', 'gemini-2.0-flash-001', 'gemini-2.0-flash-lite', 'gemini-2.0-flash-lite-001']);

/** Whether `model` takes thinking settings at all. */
export const modelThinks = (model: string) => !NON_THINKING_MODELS.has(model);

/** A model we know no range of: the widest Gemini takes, so that a newer model is not locked out. */
const UNKNOWN_MODEL: BudgetRange = { min: 1, max: 32768, canTurnOff: true };

/** Budget values with a meaning of their own rather than a number of tokens. */
export const DYNAMIC_THINKING_BUDGET = -1;

/** Why `budget` does not suit `model`, or undefined when it does (null, the model's default, suits every thinking model). */
export function thinkingBudgetProblem(model: string, budget: number | null): string | undefined {
  if (budget === null || budget === DYNAMIC_THINKING_BUDGET) return undefined;
  const range = RANGES[model] ?? UNKNOWN_MODEL;
  if (budget === 0) return range.canTurnOff ? undefined : `${model} cannot turn thinking off: use -1, null or ${range.min}–${range.max}`;
  const off = range.canTurnOff ? '0, ' : '';
  if (budget < range.min || budget > range.max) return `must be -1, null, ${off}or ${range.min}–${range.max} for ${model}`;
  return undefined;
}
