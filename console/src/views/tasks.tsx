import { useState } from 'preact/hooks';
import { listTasks } from '../api';
import { HeaderRow } from '../parts/header-row';
import type { ListQuery } from '../api';
import { SkillSelect } from '../parts/skill-select';
import { StateBadge } from '../parts/state-badge';
import { errorText, shortId, usePoll, when } from '../poll';
import type { Task } from '../wire';
import { messageText, STATES, stateWord } from '../wire';

const PAGE_SIZE = 25;
const AGES: readonly { label: string; ms: number }[] = [
  { label: 'any time', ms: 0 },
  { label: 'last 5 minutes', ms: 5 * 60_000 },
  { label: 'last hour', ms: 3_600_000 },
  { label: 'last day', ms: 86_400_000 },
];

export function skillOf(task: Task): string {
  const skill = task.metadata?.skill;
  return typeof skill === 'string' ? skill : '';
}

/** Every task the caller may see, across every replica (ListTasks merges them), newest first. */
export function TasksView({ skills }: { skills: string[] }) {
  const [state, setState] = useState('');
  const [skill, setSkill] = useState('');
  const [context, setContext] = useState('');
  const [age, setAge] = useState(0);
  // The tokens of the pages before this one, for "Previous"; the current page's own token last.
  const [tokens, setTokens] = useState<string[]>(['']);
  const [tasks, setTasks] = useState<Task[] | undefined>(undefined);
  const [next, setNext] = useState('');
  const [total, setTotal] = useState<number | undefined>(undefined);
  const [error, setError] = useState('');
  const token = tokens[tokens.length - 1]!;

  usePoll(
    async () => {
      const query: ListQuery = { pageSize: PAGE_SIZE };
      if (state !== '') query.status = state;
      if (context.trim() !== '') query.contextId = context.trim();
      if (token !== '') query.pageToken = token;
      if (age > 0) query.statusTimestampAfter = new Date(Date.now() - age).toISOString();
      try {
        const page = await listTasks(query);
        setTasks(page.tasks);
        setNext(page.nextPageToken ?? '');
        setTotal(page.totalSize);
        setError('');
      } catch (e) {
        setError(errorText(e));
      }
    },
    3000,
    [state, context, age, token],
  );

  const restart = <T,>(set: (value: T) => void) => (value: T) => {
    set(value);
    setTokens(['']);
  };
  // ListTasks has no skill filter: the skill is filtered on the page shown.
  const shown = (tasks ?? []).filter((task) => skill === '' || skillOf(task) === skill);

  return (
    <section aria-labelledby="tasks-title">
      <h2 id="tasks-title">Tasks</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter tasks">
        <label>
          State
          <select value={state} onChange={(e) => restart(setState)(e.currentTarget.value)}>
            <option value="">any</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {stateWord(s)}
              </option>
            ))}
          </select>
        </label>
        <SkillSelect value={skill} onChange={setSkill} skills={skills} noneLabel="any" />
        <label>
          Context
          <input type="search" value={context} placeholder="context id" onInput={(e) => restart(setContext)(e.currentTarget.value)} />
        </label>
        <label>
          Updated
          <select value={String(age)} onChange={(e) => restart(setAge)(Number(e.currentTarget.value))}>
            {AGES.map((a) => (
              <option key={a.ms} value={String(a.ms)}>
                {a.label}
              </option>
            ))}
          </select>
        </label>
      </form>
      {error !== '' && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <table class="tasks">
        <caption>
          {tasks === undefined ? 'Loading…' : `${shown.length} shown${total === undefined ? '' : ` of ${total}`}; updates every few seconds`}
        </caption>
        <HeaderRow columns={['Task', 'State', 'Skill', 'Context', 'Updated', 'Status']} />
        <tbody>
          {shown.map((task) => (
            <tr key={task.id} data-task={task.id}>
              <td>
                <a href={`#/tasks/${encodeURIComponent(task.id)}`} title={task.id}>
                  {shortId(task.id)}
                </a>
              </td>
              <td>
                <StateBadge state={task.status.state} />
              </td>
              <td>{skillOf(task)}</td>
              <td>
                <button type="button" class="link" title={`show only context ${task.contextId}`} onClick={() => restart(setContext)(task.contextId)}>
                  {shortId(task.contextId)}
                </button>
              </td>
              <td>{when(task.status.timestamp)}</td>
              <td class="summary">{messageText(task.status.message).slice(0, 120)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav class="pager" aria-label="Pages of tasks">
        <button type="button" disabled={tokens.length === 1} onClick={() => setTokens(tokens.slice(0, -1))}>
          Previous page
        </button>
        <span>page {tokens.length}</span>
        <button type="button" disabled={next === ''} onClick={() => setTokens([...tokens, next])}>
          Next page
        </button>
      </nav>
    </section>
  );
}
