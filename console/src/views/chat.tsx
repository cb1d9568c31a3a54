import { useRef, useState } from 'preact/hooks';
import { stream } from '../api';
import { ArtifactView, mergeArtifact } from '../parts/artifact-view';
import { MessageView, toolCallOf } from '../parts/message-view';
import { SkillSelect } from '../parts/skill-select';
import { StateBadge } from '../parts/state-badge';
import { errorText } from '../poll';
import type { Artifact, Message, Part, WireState } from '../wire';
import { messageText } from '../wire';

interface Turn {
  sent: Message;
  taskId?: string;
  state?: WireState;
  /** Status messages and tool calls, in the order they came. */
  events: Message[];
  artifacts: Artifact[];
  reply?: Message;
  error?: string;
}

function readFile(file: File): Promise<Part> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      resolve({ raw: url.slice(url.indexOf(',') + 1), filename: file.name, mediaType: file.type || 'application/octet-stream' });
    };
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

/** A conversation with the agent: each message streams its answer; the next one continues the same context. */
export function ChatView({ skills }: { skills: string[] }) {
  const [skill, setSkill] = useState('');
  const [text, setText] = useState('');
  const [asYaml, setAsYaml] = useState(false);
  const [turns, setTurns] = useState<Turn[]>([]);
  const [busy, setBusy] = useState(false);
  const [contextId, setContextId] = useState<string | undefined>(undefined);
  const fileInput = useRef<HTMLInputElement>(null);

  const update = (index: number, change: (turn: Turn) => Turn) => setTurns((list) => list.map((t, i) => (i === index ? change(t) : t)));

  const send = async (event: Event) => {
    event.preventDefault();
    const parts: Part[] = [];
    if (text.trim() !== '') parts.push(asYaml ? { text, mediaType: 'application/yaml' } : { text });
    for (const file of Array.from(fileInput.current?.files ?? [])) parts.push(await readFile(file));
    if (parts.length === 0) return;
    // A task still waiting for input takes the reply; otherwise the context goes on with a new task.
    const last = turns[turns.length - 1];
    const waiting = last?.state === 'TASK_STATE_INPUT_REQUIRED' ? last.taskId : undefined;
    const message: Message = {
      messageId: crypto.randomUUID(),
      role: 'ROLE_USER',
      parts,
      ...(contextId === undefined ? {} : { contextId }),
      ...(waiting === undefined ? {} : { taskId: waiting }),
      ...(skill === '' ? {} : { metadata: { skill } }),
    };
    const index = turns.length;
    setTurns((list) => [...list, { sent: message, events: [], artifacts: [] }]);
    setText('');
    if (fileInput.current) fileInput.current.value = '';
    setBusy(true);
    try {
      for await (const item of stream('SendStreamingMessage', { message })) {
        if (item.task !== undefined) {
          const task = item.task;
          setContextId(task.contextId);
          update(index, (t) => ({ ...t, taskId: task.id, state: task.status.state, artifacts: task.artifacts ?? t.artifacts }));
        } else if (item.message !== undefined) {
          const reply = item.message;
          if (reply.contextId !== undefined) setContextId(reply.contextId);
          update(index, (t) => ({ ...t, reply }));
        } else if (item.statusUpdate !== undefined) {
          const { status, taskId } = item.statusUpdate;
          setContextId(item.statusUpdate.contextId);
          update(index, (t) => ({ ...t, taskId, state: status.state, events: status.message ? [...t.events, status.message] : t.events }));
        } else if (item.artifactUpdate !== undefined) {
          const { artifact, append } = item.artifactUpdate;
          update(index, (t) => ({ ...t, artifacts: mergeArtifact(t.artifacts, artifact, append === true) }));
        }
      }
    } catch (e) {
      update(index, (t) => ({ ...t, error: errorText(e) }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="chat-title">
      <h2 id="chat-title">Chat</h2>
      <p class="muted">
        {contextId === undefined ? 'A new conversation.' : <>Context <code>{contextId}</code> </>}
        {contextId !== undefined && (
          <button type="button" class="link" onClick={() => (setContextId(undefined), setTurns([]))}>
            start a new one
          </button>
        )}
      </p>
      <ol class="turns" aria-live="polite">
        {turns.map((turn, i) => (
          <li key={i} class="turn">
            <MessageView message={turn.sent} />
            {turn.events.map((m, j) =>
              toolCallOf(m) !== undefined ? (
                <MessageView key={j} message={m} />
              ) : (
                <p key={j} class="progress muted">
                  {messageText(m)}
                </p>
              ),
            )}
            {turn.artifacts.map((a) => (
              <ArtifactView key={a.artifactId} artifact={a} />
            ))}
            {turn.reply !== undefined && <MessageView message={turn.reply} />}
            <p class="turn-end">
              {turn.state !== undefined && <StateBadge state={turn.state} />}{' '}
              {turn.taskId !== undefined && <a href={`#/tasks/${encodeURIComponent(turn.taskId)}`}>open task</a>}
            </p>
            {turn.error !== undefined && (
              <p role="alert" class="error">
                {turn.error}
              </p>
            )}
          </li>
        ))}
      </ol>
      <form class="composer" onSubmit={send}>
        <SkillSelect value={skill} onChange={setSkill} skills={skills} noneLabel="auto" />
        <label for="chat-text">Message</label>
        <textarea id="chat-text" rows={5} value={text} onInput={(e) => setText(e.currentTarget.value)} />
        <label class="inline">
          <input type="checkbox" checked={asYaml} onChange={(e) => setAsYaml(e.currentTarget.checked)} /> the text is YAML (manifests)
        </label>
        <label>
          Attach a file
          <input type="file" ref={fileInput} />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Streaming…' : 'Send'}
        </button>
      </form>
    </section>
  );
}
