import { useEffect, useState } from 'preact/hooks';
import { call, cancelTask, getTask, stream } from '../api';
import { ArtifactView, mergeArtifact } from '../parts/artifact-view';
import { MessageView } from '../parts/message-view';
import { StateBadge } from '../parts/state-badge';
import { errorText, when } from '../poll';
import type { Message, Task, TaskStatus } from '../wire';
import { isEnded, messageText } from '../wire';
import { skillOf } from './tasks';

/** One task: its status history, messages and artifacts, live while it runs; Cancel, and a reply when it asks for input. */
export function TaskView({ id }: { id: string }) {
  const [task, setTask] = useState<Task | undefined>(undefined);
  const [statuses, setStatuses] = useState<TaskStatus[]>([]);
  const [error, setError] = useState('');
  const [live, setLive] = useState(false);
  // Bumped to subscribe again (after a reply starts the task anew).
  const [round, setRound] = useState(0);

  useEffect(() => {
    const abort = new AbortController();
    const seen = (status: TaskStatus) =>
      setStatuses((list) => (list.some((s) => s.state === status.state && s.timestamp === status.timestamp) ? list : [...list, status]));
    (async () => {
      try {
        const first = await getTask(id);
        setTask(first);
        seen(first.status);
        if (isEnded(first.status.state)) return;
        setLive(true);
        for await (const event of stream('SubscribeToTask', { id }, abort.signal)) {
          if (event.task !== undefined) {
            setTask(event.task);
            seen(event.task.status);
          } else if (event.statusUpdate !== undefined) {
            const status = event.statusUpdate.status;
            seen(status);
            setTask((t) => t && { ...t, status, history: status.message ? [...(t.history ?? []), status.message] : t.history });
          } else if (event.artifactUpdate !== undefined) {
            const update = event.artifactUpdate;
            setTask((t) => t && { ...t, artifacts: mergeArtifact(t.artifacts ?? [], update.artifact, update.append === true) });
          }
        }
        // The stream ended: read the task once more for what the events left out.
        setTask(await getTask(id));
      } catch (e) {
        if (abort.signal.aborted) return;
        // A task that ended between the read and the subscription has no stream to give: its end is the answer.
        const now = await getTask(id).catch(() => undefined);
        if (now !== undefined) {
          setTask(now);
          seen(now.status);
        }
        if (now === undefined || !isEnded(now.status.state)) setError(errorText(e));
      } finally {
        if (!abort.signal.aborted) setLive(false);
      }
    })();
    return () => abort.abort();
  }, [id, round]);

  if (task === undefined) {
    return (
      <section aria-labelledby="task-title">
        <h2 id="task-title">Task {id}</h2>
        {error === '' ? <p>Loading…</p> : <p role="alert" class="error">{error}</p>}
      </section>
    );
  }
  const skill = skillOf(task);
  return (
    <section aria-labelledby="task-title">
      <p>
        <a href="#/tasks">← all tasks</a>
      </p>
      <h2 id="task-title">
        Task <code>{task.id}</code> <StateBadge state={task.status.state} />
      </h2>
      <dl class="facts">
        <dt>Skill</dt>
        <dd>{skill || 'unknown'}</dd>
        <dt>Context</dt>
        <dd>
          <code>{task.contextId}</code>
        </dd>
        <dt>Updated</dt>
        <dd>{when(task.status.timestamp)}</dd>
        <dt>Live</dt>
        <dd aria-live="polite">{live ? 'following the task as it runs' : 'not running'}</dd>
      </dl>
      {error !== '' && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {!isEnded(task.status.state) && <CancelButton id={task.id} onError={setError} />}
      {task.status.state === 'TASK_STATE_INPUT_REQUIRED' && <ReplyBox task={task} onSent={() => setRound((r) => r + 1)} onError={setError} />}
      <h3>Status history</h3>
      <ol class="timeline">
        {statuses.map((s, i) => (
          <li key={i}>
            <StateBadge state={s.state} /> <span class="muted">{when(s.timestamp)}</span> {messageText(s.message)}
          </li>
        ))}
      </ol>
      <h3>Messages</h3>
      <div class="messages">
        {(task.history ?? []).map((m, i) => (
          <MessageView key={`${m.messageId}-${i}`} message={m} />
        ))}
      </div>
      <h3>Artifacts</h3>
      {(task.artifacts ?? []).length === 0 ? <p class="muted">none yet</p> : task.artifacts!.map((a) => <ArtifactView key={a.artifactId} artifact={a} skill={skill} />)}
    </section>
  );
}

function CancelButton({ id, onError }: { id: string; onError: (text: string) => void }) {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      class="danger"
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        try {
          await cancelTask(id);
        } catch (e) {
          onError(errorText(e));
        } finally {
          setBusy(false);
        }
      }}
    >
      Cancel task
    </button>
  );
}

function ReplyBox({ task, onSent, onError }: { task: Task; onSent: () => void; onError: (text: string) => void }) {
  const [text, setText] = useState('');
  const send = async (event: Event) => {
    event.preventDefault();
    if (text.trim() === '') return;
    const message: Message = { messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ text }], taskId: task.id, contextId: task.contextId };
    try {
      await call('SendMessage', { message, configuration: { returnImmediately: true } });
      setText('');
      onSent();
    } catch (e) {
      onError(errorText(e));
    }
  };
  return (
    <form class="reply" onSubmit={send}>
      <p>{messageText(task.status.message) || 'The task asks for input.'}</p>
      <label for="reply-text">Your reply</label>
      <textarea id="reply-text" rows={4} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      <button type="submit">Send reply</button>
    </form>
  );
}
