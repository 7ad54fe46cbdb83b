/** The open chat's settings (PATCH /chatroom/:id): system instruction, model, temperature, grounding, thinking. */
import { useEffect, useState } from 'preact/hooks';
import type { ChatroomSettings, SettingsChange } from './contract';
import { chat, loadModels, models, saveSettings } from './conversation';
import { act } from './report';
import { useStore } from './use-store';

const numberText = (value: number | null | undefined) => (value === null || value === undefined ? '' : String(value));

interface Fields {
  systemInstruction: string;
  model: string;
  temperature: string;
  grounding: boolean;
  thinkingBudget: string;
  includeThoughts: boolean;
}

const fieldsOf = (settings: ChatroomSettings | undefined): Fields => ({
  systemInstruction: settings?.systemInstruction ?? '',
  model: settings?.model ?? '',
  temperature: numberText(settings?.temperature),
  grounding: settings?.grounding ?? false,
  thinkingBudget: numberText(settings?.thinking?.budget),
  includeThoughts: settings?.thinking?.includeThoughts ?? false,
});

function changeOf(fields: Fields): SettingsChange {
  return {
    systemInstruction: fields.systemInstruction.trim() || null,
    // The select offers only what GET /models answered.
    model: fields.model || null,
    temperature: fields.temperature === '' ? null : Number(fields.temperature),
    grounding: fields.grounding,
    // Nothing chosen is the model's own default: no thinking settings at all.
    thinking:
      fields.thinkingBudget === '' && !fields.includeThoughts
        ? null
        : { budget: fields.thinkingBudget === '' ? null : Number(fields.thinkingBudget), includeThoughts: fields.includeThoughts },
  };
}

/**
 * Keyed by the chat (chat-pane.tsx): another chat's panel starts from that chat's settings. They are
 * read once, as the panel is made, not listened to: the fields are the user's from then on, and a
 * streamed reply's frames do not draw the panel again.
 */
export function SettingsPanel() {
  const choices = useStore(models);
  const [fields, setFields] = useState(() => fieldsOf(chat.get().conversation?.settings));
  const set = (change: Partial<Fields>) => setFields((now) => ({ ...now, ...change }));
  useEffect(() => act(loadModels), []);

  return (
    <details id="settings">
      <summary>Chat settings</summary>
      <form
        id="settings-form"
        class="card"
        onSubmit={(event) => {
          event.preventDefault();
          act(() => saveSettings(changeOf(fields)));
        }}
      >
        <label for="system-instruction">System instruction</label>
        <textarea
          id="system-instruction"
          rows={3}
          maxLength={4000}
          placeholder="e.g. Answer in French"
          value={fields.systemInstruction}
          onInput={(event) => set({ systemInstruction: event.currentTarget.value })}
        />
        <label for="model">Model</label>
        {/* The chosen model is selected once the list of models is there (its options come first). */}
        <select id="model" value={choices ? fields.model : ''} onChange={(event) => set({ model: event.currentTarget.value })}>
          <option value="">Server default</option>
          {(choices ?? []).map((model) => (
            <option key={model.id} value={model.id}>
              {model.default ? `${model.id} (default)` : model.id}
            </option>
          ))}
        </select>
        <label for="temperature">Temperature</label>
        <input
          id="temperature"
          type="number"
          min="0"
          max="2"
          step="0.1"
          placeholder="server default"
          value={fields.temperature}
          onInput={(event) => set({ temperature: event.currentTarget.value })}
        />
        <label class="check">
          <input id="grounding" type="checkbox" checked={fields.grounding} onChange={(event) => set({ grounding: event.currentTarget.checked })} /> Google Search (answers cite
          their sources)
        </label>
        <label for="thinking-budget">Thinking budget (tokens)</label>
        <input
          id="thinking-budget"
          type="number"
          min="-1"
          max="32768"
          step="1"
          placeholder="model default"
          aria-describedby="thinking-hint"
          value={fields.thinkingBudget}
          onInput={(event) => set({ thinkingBudget: event.currentTarget.value })}
        />
        <p id="thinking-hint" class="hint">
          Empty: the model's default. -1: the model decides. 0: off (not on 2.5 Pro).
        </p>
        <label class="check">
          <input id="include-thoughts" type="checkbox" checked={fields.includeThoughts} onChange={(event) => set({ includeThoughts: event.currentTarget.checked })} /> Show
          thinking in replies
        </label>
        <button type="submit">Save settings</button>
      </form>
    </details>
  );
}
