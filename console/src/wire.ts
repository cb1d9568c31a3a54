// The A2A 1.0 JSON wire as the console reads it: only the fields it shows.

export type WireState =
  | 'TASK_STATE_SUBMITTED'
  | 'TASK_STATE_WORKING'
  | 'TASK_STATE_INPUT_REQUIRED'
  | 'TASK_STATE_AUTH_REQUIRED'
  | 'TASK_STATE_COMPLETED'
  | 'TASK_STATE_FAILED'
  | 'TASK_STATE_CANCELED'
  | 'TASK_STATE_REJECTED';

export interface Part {
  text?: string;
  raw?: string;
  url?: string;
  data?: unknown;
  mediaType?: string;
  filename?: string;
  metadata?: Record<string, unknown>;
}

export interface Message {
  messageId: string;
  role: 'ROLE_USER' | 'ROLE_AGENT';
  parts: Part[];
  contextId?: string;
  taskId?: string;
  metadata?: Record<string, unknown>;
}

export interface TaskStatus {
  state: WireState;
  timestamp?: string;
  message?: Message;
}

export interface Artifact {
  artifactId: string;
  name?: string;
  description?: string;
  parts: Part[];
}

export interface Task {
  id: string;
  contextId: string;
  status: TaskStatus;
  history?: Message[];
  artifacts?: Artifact[];
  metadata?: Record<string, unknown>;
}

export interface TaskPage {
  tasks: Task[];
  nextPageToken?: string;
  totalSize?: number;
}

export interface StatusUpdate {
  taskId: string;
  contextId: string;
  status: TaskStatus;
}

export interface ArtifactUpdate {
  taskId: string;
  contextId: string;
  artifact: Artifact;
  append?: boolean;
  lastChunk?: boolean;
}

/** One answer of SendMessage or one event of a stream: exactly one member is set. */
export interface StreamResponse {
  task?: Task;
  message?: Message;
  statusUpdate?: StatusUpdate;
  artifactUpdate?: ArtifactUpdate;
}

export interface AgentSkill {
  id: string;
  name: string;
  description?: string;
  tags?: string[];
  examples?: string[];
}

export interface AgentCard {
  name: string;
  description?: string;
  version: string;
  supportedInterfaces?: { url: string; protocolBinding: string; protocolVersion: string }[];
  skills: AgentSkill[];
  capabilities?: Record<string, unknown>;
}

/** One peer of GET /peers, as src/peers/discovery.ts serves it: read here, not imported (the console imports nothing of src/). */
export interface PeerStatus {
  url: string;
  source: string;
  state: 'pending' | 'healthy' | 'stale' | 'unreachable' | 'untrusted';
  name?: string;
  protocolVersions: string[];
  lastSeen?: string;
  lastError?: string;
  lastErrorAt?: string;
  consecutiveFailures: number;
  nextCheckAt: string;
  lastCheckAt?: string;
  lastCheckMs?: number;
}

export const STATES: readonly WireState[] = [
  'TASK_STATE_SUBMITTED',
  'TASK_STATE_WORKING',
  'TASK_STATE_INPUT_REQUIRED',
  'TASK_STATE_AUTH_REQUIRED',
  'TASK_STATE_COMPLETED',
  'TASK_STATE_FAILED',
  'TASK_STATE_CANCELED',
  'TASK_STATE_REJECTED',
];

/** The word a state is shown as (the colour only repeats it). */
export function stateWord(state: WireState): string {
  return state.replace('TASK_STATE_', '').toLowerCase().replace('_', '-');
}

const ENDED: ReadonlySet<WireState> = new Set(['TASK_STATE_COMPLETED', 'TASK_STATE_FAILED', 'TASK_STATE_CANCELED', 'TASK_STATE_REJECTED']);

export function isEnded(state: WireState): boolean {
  return ENDED.has(state);
}

/** The text of a message's text parts. */
export function messageText(message: Message | undefined): string {
  return (message?.parts ?? []).map((part) => part.text ?? '').join('');
}

/** GET /settings: this pod and the settings in force (credentials withheld by the service). */
export interface SettingsView {
  pod: { name: string; ordinal?: number; namespace?: string; podUrl: string; publicUrl: string };
  settings: { name: string; value?: string; default?: string; live: boolean; restartPending: boolean }[];
}
