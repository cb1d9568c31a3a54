import type { WireState } from '../wire';
import { stateWord } from '../wire';

/** A task state: a word, with a colour that only repeats it. */
export function StateBadge({ state }: { state: WireState }) {
  const word = stateWord(state);
  return <span class={`state state-${word}`}>{word}</span>;
}
