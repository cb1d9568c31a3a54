import { parseArgs } from 'node:util';
import type { JsonObject } from '../model/model.js';
import { A2AClient, A2AClientError, userText } from '../peers/a2a-client.js';
import { formatSendResult, formatStreamItem, formatTask } from './format.js';
import { withoutTrailingSlashes } from '../model/text.js';

/** Exit codes of the client commands, so scripts can tell failures apart. */
export const EXIT = { ok: 0, agentError: 1, usage: 2, unreachable: 3, badResponse: 4 } as const;

export class UsageError extends Error {}

const USAGES: Record<string, string> = {
  card: 'kagent-a2a card URL [--json]',
  send: 'kagent-a2a send URL TEXT [--skill ID] [--task ID] [--context ID] [--metadata JSON] [--stream] [--no-wait] [--json]',
  get: 'kagent-a2a get URL TASK [--history N] [--json]',
  cancel: 'kagent-a2a cancel URL TASK [--json]',
  tasks: 'kagent-a2a tasks URL [--state STATE] [--context ID] [--limit N] [--json]',
  peers: 'kagent-a2a peers URL [--json]',
};

export const CLIENT_COMMANDS = Object.keys(USAGES);

export function clientUsage(): string {
  return Object.values(USAGES)
    .map((usage) => `  ${usage}`)
    .join('\n');
}

const OPTIONS = {
  json: { type: 'boolean' },
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
    if (error instanceof UsageError) {
      console.error(`kagent-a2a ${command}: ${error.message}\nusage: ${USAGES[command]}`);
      return EXIT.usage;
    }
    if (error instanceof A2AClientError) {
      const code = error.kind === 'rpc' && error.code !== undefined ? ` (error ${error.code})` : '';
      console.error(`kagent-a2a ${command}: ${error.message}${code}`);
      if (error.kind === 'connection') console.error('is the agent running, and is the URL its base URL (e.g. http://localhost:8080)?');
      // The agent said no (an error, or an operation its protocol version lacks) vs. the agent could not be asked.
      if (error.kind === 'rpc' || error.kind === 'unsupported') return EXIT.agentError;
      return error.kind === 'invalid-response' ? EXIT.badResponse : EXIT.unreachable;
    }
    throw error;
  }
}

async function run(command: string, args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values: flags, positionals } = parsed;
  const [url, arg] = positionals;
  if (url === undefined) throw new UsageError('the agent URL is missing');
  const print = (human: string, value: unknown) => console.log(flags.json ? JSON.stringify(value, null, 2) : human);
  // The peer registry is this service's own endpoint, not an A2A method: no card needed.
  if (command === 'peers') {
    const peers = await fetchPeers(url);
    print(peers.length === 0 ? 'no peers configured or discovered' : peers.map(formatPeer).join('\n'), peers);
    return EXIT.ok;
  }
  // The operator's URL often reaches the agent through a port-forward or proxy: keep its origin.
  const client = await A2AClient.connect(url, { endpoint: 'base' });

  switch (command) {
    case 'card': {
      const { card } = client;
      const skills = card.skills.map((s) => `  ${s.id}: ${s.description}`).join('\n');
      print(`${card.name} ${card.version} — ${card.description}\nendpoint: ${card.url}\nskills:\n${skills}`, card.raw);
      return EXIT.ok;
    }
    case 'send': {
      if (arg === undefined) throw new UsageError('the message TEXT is missing');
      const message = userText(arg, { taskId: flags.task, contextId: flags.context, skill: flags.skill });
      if (flags.metadata !== undefined) message.metadata = { ...jsonObject(flags.metadata, '--metadata'), ...message.metadata };
      if (flags.stream) {
        for await (const item of client.stream(message)) print(formatStreamItem(item), item);
        return EXIT.ok;
      }
      const result = await client.send(message, { returnImmediately: flags['no-wait'] === true });
      print(formatSendResult(result), result);
      return EXIT.ok;
    }
    case 'get': {
      if (arg === undefined) throw new UsageError('the TASK id is missing');
      const task = await client.getTask(arg, flags.history === undefined ? undefined : integer(flags.history, '--history'));
      print(formatTask(task), task);
      return EXIT.ok;
    }
    case 'cancel': {
      if (arg === undefined) throw new UsageError('the TASK id is missing');
      const task = await client.cancelTask(arg);
      print(formatTask(task), task);
      return EXIT.ok;
    }
    case 'tasks': {
      const page = await client.listTasks({
        pageSize: flags.limit === undefined ? 20 : integer(flags.limit, '--limit'),
        ...(flags.state === undefined ? {} : { status: `TASK_STATE_${flags.state.toUpperCase().replace(/-/g, '_')}` }),
        ...(flags.context === undefined ? {} : { contextId: flags.context }),
      });
      const lines = page.tasks.map((t) => `${t.id}  ${t.status.state}  ${t.status.timestamp}`);
      print([...lines, `(${page.tasks.length} of ${page.totalSize})`].join('\n'), page);
      return EXIT.ok;
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
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

async function fetchPeers(base: string): Promise<PeerView[]> {
  const url = `${withoutTrailingSlashes(base)}/peers`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new A2AClientError('connection', `cannot reach ${url}: ${cause}`);
  }
  if (res.status === 404) throw new A2AClientError('unsupported', `${url} does not exist: the agent is not a kagent-a2a service`);
  if (!res.ok) throw new A2AClientError('http', `GET ${url} answered HTTP ${res.status}`, res.status);
  const body = (await res.json().catch(() => undefined)) as { peers?: PeerView[] } | undefined;
  if (!Array.isArray(body?.peers)) throw new A2AClientError('invalid-response', `GET ${url} did not answer with a peer list`);
  return body.peers;
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

function integer(value: string, flag: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} takes a whole number, got "${value}"`);
  return Number(value);
}
