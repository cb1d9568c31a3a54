import { parseArgs } from 'node:util';
import { endsStream } from '../model/lifecycle.js';
import type { JsonObject, StreamItem, TaskState } from '../model/model.js';
import { TASK_STATES } from '../model/model.js';
import { MAX_HISTORY_LENGTH, MAX_PAGE_SIZE } from '../protocol/codec.js';
import { v1Codec } from '../protocol/v1/codec.js';
import { A2AClient, A2AClientError, agentBaseUrl, userText } from '../peers/a2a-client.js';
import { formatSendResult, formatStreamItem, formatTask, formatTaskLine } from './format.js';
import { withoutTrailingSlashes } from '../model/text.js';
import { PushUsageError, runPush } from './push-commands.js';
import { TOKEN_ENV, serviceJson } from './service-http.js';

/** Exit codes of the client commands, so scripts can tell failures apart. */
export const EXIT = { ok: 0, agentError: 1, usage: 2, unreachable: 3, badResponse: 4 } as const;

export class UsageError extends Error {}

type OptionName = 'skill' | 'metadata' | 'task' | 'context' | 'stream' | 'no-wait' | 'history' | 'state' | 'limit';

interface CommandSpec {
  usage: string;
  summary: string;
  /** What --json prints, when not the A2A 1.0 wire objects. */
  json?: string;
  /** Positional arguments after the URL, in order; the last may be optional. */
  args: readonly string[];
  options: readonly OptionName[];
}

const OPTION_HELP: Record<OptionName | 'json' | 'help', string> = {
  skill: '--skill ID        the skill to run (metadata.skill); without it the agent picks one by content',
  metadata: '--metadata JSON   a JSON object merged into the message metadata, e.g. \'{"delayMs": 3000}\'',
  task: '--task ID         continue this task (one waiting for input)',
  context: '--context ID      the conversation (contextId) the message belongs to / to list',
  stream: '--stream          print each event as it happens instead of waiting for the end',
  'no-wait': '--no-wait         return as soon as the task exists',
  history: '--history N       also show the last N messages of the task\'s history',
  state: `--state STATE     only tasks in this state: ${TASK_STATES.join(', ')} (TASK_STATE_COMPLETED and the like work too)`,
  limit: `--limit N         at most N tasks, 1..${MAX_PAGE_SIZE} (default 20)`,
  json: '--json            print the A2A 1.0 wire objects instead (one per line for a stream of events)',
  help: '-h, --help        show this help',
};

const COMMANDS: Record<string, CommandSpec> = {
  card: {
    usage: 'kagent-a2a card URL [--json]',
    summary: "Shows the agent's card: its name, the endpoint the CLI talks to, and its skills.",
    json: 'print the card as the agent serves it',
    args: [],
    options: [],
  },
  send: {
    usage: 'kagent-a2a send URL TEXT [--skill ID] [--task ID] [--context ID] [--metadata JSON] [--stream] [--no-wait] [--json]',
    summary: 'Sends TEXT as a user message and waits until the task ends or needs input, then shows it.',
    args: ['TEXT'],
    options: ['skill', 'task', 'context', 'metadata', 'stream', 'no-wait'],
  },
  subscribe: {
    usage: 'kagent-a2a subscribe URL TASK [--json]',
    summary: 'Reattaches to a running task: shows its state, then each event as it happens, until it ends or needs input. A task that has already ended is shown as it is.',
    args: ['TASK'],
    options: [],
  },
  get: {
    usage: 'kagent-a2a get URL TASK [--history N] [--json]',
    summary: 'Shows a task: its state, status message and artifacts.',
    args: ['TASK'],
    options: ['history'],
  },
  cancel: {
    usage: 'kagent-a2a cancel URL TASK [--json]',
    summary: 'Cancels a task and shows it.',
    args: ['TASK'],
    options: [],
  },
  tasks: {
    usage: 'kagent-a2a tasks URL [--state STATE] [--context ID] [--limit N] [--json]',
    summary: 'Lists tasks, newest first: id, state, last change, skill and the start of the message that began it.',
    args: [],
    options: ['state', 'context', 'limit'],
  },
  push: {
    usage: 'kagent-a2a push dead-letters URL [--json] | kagent-a2a push retry URL ID [--json]',
    summary: `Push deliveries the agent gave up on (dead letters) for your tasks: lists them, or queues one for delivery again. Sends ${TOKEN_ENV}, when set, as the bearer credential.`,
    json: 'print the dead letters as GET /push/dead-letters serves them',
    args: ['dead-letters | retry', 'URL', 'ID'],
    options: [],
  },
  peers: {
    usage: 'kagent-a2a peers URL [--json]',
    summary: 'Shows the agents a kagent-a2a service discovered (VAPORA, A2A_PEERS, its sibling replicas) and their state.',
    json: 'print the peer registry as GET /peers serves it',
    args: [],
    options: [],
  },
};

export const CLIENT_COMMANDS = Object.keys(COMMANDS);

/** The options a client command accepts (e.g. ['--history', '--json', '--help']); undefined for an unknown command. */
export function commandOptions(command: string): string[] | undefined {
  const spec = COMMANDS[command];
  return spec === undefined ? undefined : [...spec.options, 'json', 'help'].map((name) => `--${name}`);
}

export function clientUsage(): string {
  return Object.values(COMMANDS)
    .map((spec) => `  ${spec.usage}`)
    .join('\n');
}

/** The help of one command. */
export function commandHelp(command: string): string {
  const spec = COMMANDS[command]!;
  const json = spec.json === undefined ? OPTION_HELP.json : `--json            ${spec.json}`;
  return [
    `usage: ${spec.usage}`,
    '',
    spec.summary,
    'URL is the agent\'s base URL (e.g. http://localhost:8080); a pasted card URL works too.',
    '',
    'Options:',
    ...spec.options.map((name) => `  ${OPTION_HELP[name]}`),
    `  ${json}`,
    `  ${OPTION_HELP.help}`,
  ].join('\n');
}

const PARSE_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  skill: { type: 'string' },
  metadata: { type: 'string' },
  task: { type: 'string' },
  context: { type: 'string' },
  stream: { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  history: { type: 'string' },
  state: { type: 'string' },
  limit: { type: 'string' },
} as const;

/** Runs one client command against an agent; returns the exit code. */
export async function runClientCommand(command: string, args: string[]): Promise<number> {
  try {
    return await run(command, args);
  } catch (error) {
    if (error instanceof UsageError || error instanceof PushUsageError) {
      console.error(`kagent-a2a ${command}: ${error.message}\nusage: ${COMMANDS[command]?.usage ?? 'kagent-a2a help'}`);
      return EXIT.usage;
    }
    if (error instanceof A2AClientError) {
      const code = error.kind === 'rpc' && error.code !== undefined ? ` (error ${error.code})` : '';
      console.error(`kagent-a2a ${command}: ${error.message}${code}`);
      if (error.kind === 'connection') console.error('is the agent running, and is the URL its base URL (e.g. http://localhost:8080)?');
      return exitCode(error);
    }
    throw error;
  }
}

function exitCode(error: A2AClientError): number {
  switch (error.kind) {
    // The agent said no (an error, or an operation its protocol version lacks).
    case 'rpc':
    case 'unsupported':
      return EXIT.agentError;
    case 'invalid-response':
      return EXIT.badResponse;
    // The agent could not be asked: nothing there, no answer in time, or something else answered.
    default:
      return EXIT.unreachable;
  }
}

async function run(command: string, args: string[]): Promise<number> {
  const spec = COMMANDS[command];
  if (spec === undefined) throw new UsageError(`unknown command ${command}`);
  let parsed;
  try {
    parsed = parseArgs({ args, options: PARSE_OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values: flags, positionals } = parsed;
  if (flags.help === true) {
    console.log(commandHelp(command));
    return EXIT.ok;
  }
  for (const name of Object.keys(flags)) {
    if (name !== 'json' && !spec.options.includes(name as OptionName)) throw new UsageError(`${command} takes no --${name} option`);
  }
  if (command === 'push') {
    await runPush(positionals, agentUrl, (human, wire) => console.log(flags.json === true ? JSON.stringify(wire, null, 2) : human));
    return EXIT.ok;
  }
  const [rawUrl, ...rest] = positionals;
  if (rawUrl === undefined) throw new UsageError('the agent URL is missing');
  const url = agentUrl(rawUrl);
  if (rest.length < spec.args.length) throw new UsageError(`the ${spec.args[rest.length]} ${spec.args[rest.length] === 'TEXT' ? 'to send' : 'id'} is missing`);
  if (rest.length > spec.args.length) throw new UsageError(`unexpected argument "${rest[spec.args.length]}"`);
  const arg = rest[0] ?? '';
  const json = flags.json === true;
  const print = (human: string, wire: unknown) => console.log(json ? JSON.stringify(wire, null, 2) : human);
  // A stream prints one line per event: JSON Lines, so each event can be read as it arrives.
  const printItem = (item: StreamItem) => console.log(json ? JSON.stringify(v1Codec.encodeStreamItem(item)) : formatStreamItem(item));

  // Checked before anything is sent: a usage mistake is the caller's, not the agent's.
  const history = flags.history === undefined ? undefined : integer(flags.history, '--history', 0, MAX_HISTORY_LENGTH);
  const limit = flags.limit === undefined ? 20 : integer(flags.limit, '--limit', 1, MAX_PAGE_SIZE);
  const state = flags.state === undefined ? undefined : parseTaskState(flags.state);
  const metadata = flags.metadata === undefined ? undefined : jsonObject(flags.metadata, '--metadata');

  // The peer registry is this service's own endpoint, not an A2A method: no card needed.
  if (command === 'peers') {
    const peers = await fetchPeers(url);
    print(peers.length === 0 ? 'no peers configured or discovered' : peers.map(formatPeer).join('\n'), peers);
    return EXIT.ok;
  }
  // Requests go to the URL given (the client's default): it works through a port-forward or proxy.
  const client = await A2AClient.connect(url);

  switch (command) {
    case 'card': {
      const { card } = client;
      const skills = card.skills.map((s) => `  ${s.id}: ${s.description}`).join('\n');
      const advertised = card.advertisedUrl === card.url ? '' : ` (the card advertises ${card.advertisedUrl})`;
      const endpoint = `endpoint: ${card.url}${advertised}, ${card.binding} A2A ${card.protocolVersion}`;
      print(`${card.name} ${card.version} — ${card.description}\n${endpoint}\nskills:\n${skills}`, card.raw);
      return EXIT.ok;
    }
    case 'send': {
      const message = userText(arg, {
        ...(flags.task === undefined ? {} : { taskId: flags.task }),
        ...(flags.context === undefined ? {} : { contextId: flags.context }),
        ...(metadata === undefined ? {} : { metadata }),
        ...(flags.skill === undefined ? {} : { skill: flags.skill }),
      });
      if (flags.stream === true) return follow(client.stream(message), printItem, `kagent-a2a send`);
      const result = await client.send(message, { returnImmediately: flags['no-wait'] === true });
      print(formatSendResult(result), v1Codec.encodeSendResult(result));
      return EXIT.ok;
    }
    case 'subscribe':
      try {
        return await follow(client.subscribe(arg), printItem, `kagent-a2a subscribe`);
      } catch (error) {
        // -32004: the task has nothing left to follow. If it has ended, its end is the answer.
        if (!(error instanceof A2AClientError && error.kind === 'rpc' && error.code === -32004)) throw error;
        const task = await client.getTask(arg).catch(() => undefined);
        if (task === undefined || !endsStream(task.status.state)) throw error;
        printItem({ kind: 'task', task });
        return EXIT.ok;
      }
    case 'get': {
      const task = await client.getTask(arg, history);
      // An agent may send more history than asked for: show the last N.
      if (history !== undefined) task.history = history === 0 ? [] : task.history.slice(-history);
      print(formatTask(task, { history: history !== undefined }), v1Codec.encodeTask(task));
      return EXIT.ok;
    }
    case 'cancel': {
      const task = await client.cancelTask(arg);
      print(formatTask(task), v1Codec.encodeTask(task));
      return EXIT.ok;
    }
    case 'tasks': {
      const page = await client.listTasks({
        pageSize: limit,
        ...(state === undefined ? {} : { state }),
        ...(flags.context === undefined ? {} : { contextId: flags.context }),
      });
      const lines = page.tasks.map(formatTaskLine);
      print([...lines, `(${page.tasks.length} of ${page.totalSize})`].join('\n'), v1Codec.encodeTaskPage(page, false));
      return EXIT.ok;
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

/**
 * Prints a task's events until the stream ends. A stream that ends before the
 * task ended or asked for input was cut (the agent restarted, a proxy closed
 * it): exit "unreachable" and say how to reattach.
 */
async function follow(items: AsyncIterable<StreamItem>, printItem: (item: StreamItem) => void, who: string): Promise<number> {
  let taskId: string | undefined;
  let state: TaskState | undefined;
  let ended = false;
  for await (const item of items) {
    printItem(item);
    if (item.kind === 'message') ended = true;
    else if (item.kind === 'task') {
      taskId = item.task.id;
      state = item.task.status.state;
      ended = endsStream(state);
    } else if (item.kind === 'status-update') {
      state = item.status.state;
      ended = item.final || endsStream(state);
    }
  }
  if (ended) return EXIT.ok;
  const last = state === undefined ? 'before the task was shown' : `while the task was ${state}`;
  const again = taskId === undefined ? '' : `; "kagent-a2a subscribe URL ${taskId}" reattaches`;
  console.error(`${who}: the event stream ended ${last}${again}`);
  return EXIT.unreachable;
}

/** A task state as --state takes it: `input-required`, `INPUT_REQUIRED` or `TASK_STATE_INPUT_REQUIRED`, in any case. */
export function parseTaskState(value: string): TaskState {
  const name = value.trim().toLowerCase().replace(/^task_state_/, '').replace(/_/g, '-');
  const state = TASK_STATES.find((s) => s === name);
  if (state === undefined) {
    throw new UsageError(`--state takes one of ${TASK_STATES.join(', ')} (or the same as TASK_STATE_SUBMITTED, TASK_STATE_INPUT_REQUIRED, …), got "${value}"`);
  }
  return state;
}

interface PeerView {
  url: string;
  source: string;
  state: string;
  name?: string;
  protocolVersions?: string[];
  skills?: { id: string }[];
  lastSeen?: string;
  lastError?: string;
  lastErrorAt?: string;
}

/** The agent's base URL from what the user typed (a pasted card URL works too). */
function agentUrl(raw: string): string {
  try {
    return agentBaseUrl(raw);
  } catch (error) {
    throw new UsageError(`the agent URL ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function fetchPeers(base: string): Promise<PeerView[]> {
  const url = `${withoutTrailingSlashes(base)}/peers`;
  const { status, body } = await serviceJson('GET', url);
  if (status === 404) throw new A2AClientError('unsupported', `${url} does not exist: the agent is not a kagent-a2a service`);
  if (status < 200 || status >= 300) throw new A2AClientError('http', `GET ${url} answered HTTP ${status}`, status);
  const peers = (body as { peers?: PeerView[] } | undefined)?.peers;
  if (!Array.isArray(peers)) throw new A2AClientError('invalid-response', `GET ${url} did not answer with a peer list`);
  return peers;
}

function formatPeer(peer: PeerView): string {
  const head = `${peer.state.padEnd(11)} ${peer.url}  (${peer.source}${peer.name ? `: ${peer.name}` : ''})`;
  const lines = [head];
  if (peer.skills !== undefined && peer.skills.length > 0) lines.push(`            skills: ${peer.skills.map((s) => s.id).join(', ')}`);
  if (peer.state !== 'healthy' && peer.lastError !== undefined) lines.push(`            last error (${peer.lastErrorAt ?? '?'}): ${peer.lastError}`);
  else if (peer.lastSeen !== undefined) lines.push(`            last seen ${peer.lastSeen}`);
  return lines.join('\n');
}

function jsonObject(value: string, flag: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new UsageError(`${flag} takes a JSON object, got ${value}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`${flag} takes a JSON object, got ${value}`);
  return parsed as JsonObject;
}

function integer(value: string, flag: string, min: number, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`${flag} takes a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}
