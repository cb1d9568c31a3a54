import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isInterrupted, isTerminal } from '../model/lifecycle.js';
import type { Artifact, JsonObject, JsonValue, Message, StreamItem, Task, TaskStatus } from '../model/model.js';
import type { AgentReply, Skill, SkillContext } from './skill.js';
import { A2AClient, A2AClientError } from '../peers/client/index.js';
import type { CallEnded, TrustedCardKey } from '../peers/client/index.js';
import { PeerCredentials } from '../peers/credentials.js';
import type { PeerStatus } from '../peers/discovery.js';
import { EgressRefusedError } from '../peers/egress/index.js';
import type { EgressGuard } from '../peers/egress/index.js';
import { withoutTrailingSlashes } from '../model/text.js';
import { redactCredentials, redactSecrets } from '../observability/redact.js';

export interface DelegateOptions {
  /** The peers discovery knows now. */
  peers: () => PeerStatus[];
  /** This pod's name: put on delegated messages so that agents never pass work around in a circle. */
  self: string;
  /** Polling a peer that cannot stream: first wait, growing to at most maxPollMs. */
  pollMs?: number;
  maxPollMs?: number;
  /** Checks an interface a peer's card advertises away from the peer's configured origin. */
  egress: EgressGuard;
  /** This agent's own credential for each host it calls; the caller's credential is never passed on. */
  credentials: PeerCredentials;
  /** Builds the client for a peer (tests inject options such as retries). */
  connect?: (url: string) => Promise<A2AClient>;
  /** The key a peer's card must be signed with, by the peer's configured URL: the card read to delegate is checked again, not only discovery's copy. */
  trustedCardKey?: (url: string) => TrustedCardKey | undefined;
  /** Told when a peer's card is refused for its signature. */
  onCardRefused?: (url: string, error: A2AClientError) => void;
  /** Told about each hand-over and each call made to a peer, for metrics; `peer` is the configured peer's host, never a free-form string. */
  observer?: DelegationObserver;
  /** The local task's stored metadata: where the remote twin of a delegated task is kept, so a follow-up after a restart still reaches it. */
  taskMetadata: {
    read(taskId: string): Promise<JsonObject | undefined>;
    merge(taskId: string, patch: JsonObject): Promise<void>;
  };
}

export interface DelegationObserver {
  delegated(peer: string, outcome: DelegationOutcome): void;
  called(peer: string, call: CallEnded): void;
}

/** delegated: handed to a peer; no_peer: none offers it; loop: it already passed through this pod; refused: the peer's card points where the egress guard will not go. */
export type DelegationOutcome = 'delegated' | 'no_peer' | 'loop' | 'refused';

/** The bounded name a peer goes by in metrics: the host (and port) the operator configured. */
function peerLabel(url: string): string {
  return URL.canParse(url) ? new URL(url).host : 'unknown';
}

/** Metadata key listing the pods a delegated message has passed through. */
export const DELEGATED_BY = 'kagentDelegatedBy';

/** Task metadata key naming the remote twin of a delegated task: `{ peer, taskId, contextId }`, the peer's URL without credentials. */
export const DELEGATED_TO = 'kagentDelegatedTo';

/** What the delegated work asks for: a skill id (else a tag), and optionally a peer. */
export interface DelegationTarget {
  skill?: string;
  tag?: string;
  peer?: string;
}

/** The target of a message: metadata.targetSkill / targetTag / peer for `delegate`, else the skill it names. */
export function delegationTarget(message: Message): DelegationTarget {
  const meta = message.metadata ?? {};
  const str = (value: JsonValue | undefined) => (typeof value === 'string' && value !== '' ? value : undefined);
  const named = str(meta.skill);
  return {
    skill: str(meta.targetSkill) ?? (named !== undefined && named !== 'delegate' ? named : undefined),
    tag: str(meta.targetTag),
    peer: str(meta.peer),
  };
}

/** A healthy peer offering the skill by id, else by tag; pinned peers must match too. */
export function choosePeer(peers: readonly PeerStatus[], target: DelegationTarget): PeerStatus | undefined {
  // Siblings are this same agent: handing work to them would only come back here.
  const usable = peers.filter((p) => p.state === 'healthy' && p.source !== 'sibling' && (target.peer === undefined || sameUrl(p.url, target.peer)));
  if (target.skill !== undefined) {
    const byId = usable.find((p) => p.skills.some((s) => s.id === target.skill));
    if (byId !== undefined) return byId;
  }
  const tag = target.tag ?? target.skill;
  if (tag !== undefined) return usable.find((p) => p.skills.some((s) => s.tags.includes(tag)));
  return target.peer !== undefined ? usable[0] : undefined;
}

/** The peer's skills a delegation to it may run: the one named by id, else those with the tag, else (a peer pinned alone) all of them. */
function reachableSkills(peer: PeerStatus, target: DelegationTarget): string[] {
  if (target.skill !== undefined && peer.skills.some((s) => s.id === target.skill)) return [target.skill];
  const tag = target.tag ?? target.skill;
  if (tag !== undefined) return peer.skills.filter((s) => s.tags.includes(tag)).map((s) => s.id);
  return peer.skills.map((s) => s.id);
}

function sameUrl(a: string, b: string): boolean {
  return withoutTrailingSlashes(a) === withoutTrailingSlashes(b);
}

/** A delegated local task's remote twin, for follow-up input and cancel. */
interface Remote {
  taskId: string;
  contextId: string;
}

/** The remote twin as stored with the local task (so it survives a restart). */
interface RemoteLink extends Remote {
  peer: string;
}

function readLink(metadata: JsonObject | undefined): RemoteLink | undefined {
  const value = metadata?.[DELEGATED_TO];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { peer, taskId, contextId } = value;
  return typeof peer === 'string' && typeof taskId === 'string' && typeof contextId === 'string' ? { peer, taskId, contextId } : undefined;
}

/** A peer URL fit to store and show: credentials in it (user info, a query) stay in the configuration. */
function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '');
  } catch {
    return '(unparsable peer URL)';
  }
}

/**
 * Hands work to a discovered peer that has the skill, as a sub-task, and
 * mirrors the peer's status updates, messages and artifacts into the local
 * task: streaming when the peer streams, polling with backoff when it does
 * not. Canceling the local task cancels the remote one; input the remote asks
 * for is asked of the local caller and passed on.
 */
export function delegateSkill(options: DelegateOptions): Skill {
  const { credentials } = options;
  const connect = options.connect ?? ((url: string) => connectPeer(url, options.egress, credentials, options.trustedCardKey?.(url), options.observer));
  return {
    descriptor: {
      id: 'delegate',
      name: 'Delegate to a peer agent',
      description:
        'Hands the message to a discovered A2A agent that offers the skill in metadata.targetSkill (or a skill tagged metadata.targetTag), and relays its progress and results. Messages asking for a skill this agent lacks are delegated the same way.',
      tags: ['delegation', 'a2a', 'routing'],
      examples: ['{"metadata": {"skill": "delegate", "targetSkill": "summarize"}}', '{"metadata": {"skill": "code-review"}} (a skill only a peer has)'],
      inputModes: ['text/plain', 'application/json', 'application/octet-stream'],
      outputModes: ['text/plain', 'application/json', 'application/octet-stream'],
    },
    async execute(ctx: SkillContext): Promise<void> {
      // A follow-up (input the remote asked for) goes to the same remote task, also after a restart.
      const link = readLink(await options.taskMetadata.read(ctx.taskId));
      if (link !== undefined) return relayFollowUp(ctx, link, options, connect);
      const passedThrough = chain(ctx.message);
      if (passedThrough.includes(options.self)) {
        options.observer?.delegated('none', 'loop');
        return ctx.fail(`this work was already delegated through ${passedThrough.join(' → ')}; refusing to pass it around in a circle`);
      }
      const target = delegationTarget(ctx.message);
      if (target.skill === undefined && target.tag === undefined && target.peer === undefined) {
        return ctx.requireInput('Which skill should a peer agent run? Set metadata.targetSkill (or metadata.targetTag).');
      }
      const peer = choosePeer(options.peers(), target);
      if (peer === undefined) {
        options.observer?.delegated('none', 'no_peer');
        return ctx.fail(noPeerMessage(target, options.peers()));
      }
      // The caller's permissions cover what the peer will run: a tag or a pinned peer reaches skills no id named.
      const denied = reachableSkills(peer, target).filter((id) => !ctx.mayUse(id));
      if (denied.length > 0) {
        options.observer?.delegated(peerLabel(peer.url), 'refused');
        return ctx.reject(
          `this caller may not use the peer skill${denied.length === 1 ? '' : 's'} ${denied.map((id) => `"${id}"`).join(', ')} that ${target.skill !== undefined ? `"${target.skill}"` : target.tag !== undefined ? `the tag "${target.tag}"` : 'the pinned peer'} could reach; name a permitted one in metadata.targetSkill`,
        );
      }
      await ctx.working(`delegating to ${peer.name ?? redactCredentials(peer.url)}`);
      const client = await connectOrFail(ctx, peer, connect, options);
      options.observer?.delegated(peerLabel(peer.url), client === undefined ? 'refused' : 'delegated');
      if (client === undefined) return;
      const outgoing = outgoingMessage(ctx.taskId, ctx.message, undefined, [...passedThrough, options.self]);
      await mirrorOrExplain(ctx, client, peer, outgoing, options);
    },
  };
}

/**
 * A client for a discovered peer. Its card comes from the URL the operator
 * configured; the interface the card advertises is the peer's word only, so
 * one on another origin (it could name 169.254.169.254) must pass the egress
 * guard, and is then called through the guard's pool, which checks again at
 * connect time.
 */
async function connectPeer(
  base: string,
  egress: EgressGuard,
  credentials: PeerCredentials,
  trustedCardKey: TrustedCardKey | undefined,
  observer: DelegationObserver | undefined,
): Promise<A2AClient> {
  const peer = peerLabel(base);
  const onCallEnded = observer === undefined ? undefined : (call: CallEnded) => observer.called(peer, call);
  // Unlike a person behind a port-forward, an agent goes where the peer's card says: its interface may live on another host.
  // Each request carries the credential of the host it goes to, so one peer's credential never reaches another host.
  const client = await A2AClient.connect(base, { endpoint: 'card', headers: credentials.headersFor(base), onCallEnded, ...(trustedCardKey === undefined ? {} : { trustedCardKey }) });
  if (new URL(client.card.url).origin === new URL(base).origin) return client;
  const guarded = A2AClient.fromCard(client.card.raw, { baseUrl: base, dispatcher: egress.dispatcher, endpoint: 'card', headers: credentials.headersFor(client.card.url), onCallEnded });
  await egress.check(guarded.card.url);
  return guarded;
}

/** Connects through the egress guard; undefined (the task failed, saying why) when the peer's card points where this agent will not call, or is not signed by the key configured for it. */
async function connectOrFail(
  ctx: SkillContext,
  peer: PeerStatus,
  connect: (url: string) => Promise<A2AClient>,
  options: Pick<DelegateOptions, 'onCardRefused'>,
): Promise<A2AClient | undefined> {
  try {
    return await connect(peer.url);
  } catch (error) {
    if (error instanceof A2AClientError && error.kind === 'untrusted-card') {
      options.onCardRefused?.(peer.url, error);
      await ctx.fail(`peer ${peer.name ?? redactCredentials(peer.url)} was not used: ${redactCredentials(error.message)}`);
      return undefined;
    }
    if (!(error instanceof EgressRefusedError)) throw error;
    await ctx.fail(`the card of peer ${peer.name ?? redactCredentials(peer.url)} advertises an interface this agent will not call: ${error.message}`);
    return undefined;
  }
}

async function relayFollowUp(ctx: SkillContext, link: RemoteLink, options: DelegateOptions, connect: (url: string) => Promise<A2AClient>): Promise<void> {
  const peer = options.peers().find((p) => withoutCredentials(p.url) === link.peer);
  if (peer === undefined) {
    return ctx.fail(`the peer agent ${link.peer} that holds the delegated task ${link.taskId} is no longer configured; start a new task`);
  }
  await ctx.working();
  const client = await connectOrFail(ctx, peer, connect, options);
  if (client === undefined) return;
  const outgoing = outgoingMessage(ctx.taskId, ctx.message, link, [...chain(ctx.message), options.self]);
  await mirrorOrExplain(ctx, client, peer, outgoing, options);
}

/**
 * Mirrors the remote task; a peer that refuses this agent (401, 403) fails the
 * local task with what to fix, naming the host whose credential is missing or
 * refused (never the credential).
 */
async function mirrorOrExplain(ctx: SkillContext, client: A2AClient, peer: PeerStatus, message: Message, options: DelegateOptions): Promise<void> {
  try {
    await mirror(ctx, client, peer.url, message, options);
  } catch (error) {
    if (!(error instanceof A2AClientError) || (error.httpStatus !== 401 && error.httpStatus !== 403)) throw error;
    const status = error.httpStatus;
    const name = peer.name ?? redactCredentials(peer.url);
    const host = PeerCredentials.keyFor(client.card.url) ?? '(unknown host)';
    if (status === 403) {
      // The peer's own words say what is missing (a skill permission, a scope); a peer that echoes the credential it was sent gets it blanked.
      const sent = options.credentials.headersFor(client.card.url).authorization?.replace(/^Bearer /, '');
      return ctx.fail(`peer agent ${name} refused the delegated task (HTTP 403) for this agent's credential for ${host}: ${redactSecrets(error.message, [sent])}`);
    }
    const advice = options.credentials.has(client.card.url)
      ? `it refused this agent's credential for ${host}; check the file for ${host} in A2A_PEER_CREDENTIALS_DIR against the key ${name} expects`
      : `this agent has no credential for ${host}; put the key ${name} gave this agent in a file named ${host} in A2A_PEER_CREDENTIALS_DIR`;
    return ctx.fail(`peer agent ${name} requires authentication (HTTP 401): ${advice}`);
  }
}

function chain(message: Message): string[] {
  const value = message.metadata?.[DELEGATED_BY];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function outgoingMessage(localTaskId: string, message: Message, remote: Remote | undefined, passedThrough: string[]): Message {
  const metadata: JsonObject = { ...(message.metadata ?? {}), [DELEGATED_BY]: passedThrough };
  // The peer runs its own skill of that name; our routing keys mean nothing to it.
  delete metadata.skill;
  delete metadata.targetSkill;
  delete metadata.targetTag;
  delete metadata.peer;
  if (typeof message.metadata?.targetSkill === 'string') metadata.skill = message.metadata.targetSkill;
  else if (typeof message.metadata?.skill === 'string' && message.metadata.skill !== 'delegate') metadata.skill = message.metadata.skill;
  const out: Message = { messageId: delegatedMessageId(localTaskId, message.messageId), role: 'user', parts: message.parts, metadata };
  if (remote !== undefined) {
    out.taskId = remote.taskId;
    out.contextId = remote.contextId;
  }
  return out;
}

/**
 * The messageId a hand-over carries: the caller's, with a suffix bound to the
 * local task. The same local task sends the same id again (a resumed run, a
 * retry), so the peer's idempotency still joins it to the work it started. But
 * every caller reaches the peer as this one agent: the caller's id as it is
 * would let another caller who sends the same message (a guessable messageId)
 * join that remote task, read its results and cancel it. The caller's id stays
 * in front, for peers that read meaning into it.
 */
function delegatedMessageId(localTaskId: string, messageId: string): string {
  const binding = createHash('sha256').update(localTaskId).update('\u0000').update(messageId).digest('base64url').slice(0, 22);
  return `${messageId}.${binding}`;
}

async function mirror(ctx: SkillContext, client: A2AClient, peerUrl: string, message: Message, options: DelegateOptions): Promise<void> {
  let remote: Remote | undefined;
  // Only a local task that is canceled (or shut down) while its remote twin still runs cancels the twin.
  const onAbort = () => {
    if (remote !== undefined) void client.cancelTask(remote.taskId).catch(() => undefined);
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    let final: TaskStatus | undefined;
    const track = async (task: { id: string; contextId: string }) => {
      if (remote?.taskId === task.id && remote.contextId === task.contextId) return;
      remote = { taskId: task.id, contextId: task.contextId };
      await options.taskMetadata.merge(ctx.taskId, { [DELEGATED_TO]: { peer: withoutCredentials(peerUrl), ...remote } });
      if (ctx.signal.aborted) onAbort();
    };
    if (client.card.streaming) {
      for await (const item of client.stream(message, { signal: ctx.signal })) {
        const ended = await mirrorItem(ctx, item, track);
        if (ended !== undefined) final = ended;
      }
    } else {
      final = await poll(ctx, client, message, options, track);
    }
    // The remote task has ended or waits for input: ending the local one must not cancel it.
    ctx.signal.removeEventListener('abort', onAbort);
    await finish(ctx, final);
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

/** Mirrors one remote stream item; returns the remote's status when it ends or waits. */
async function mirrorItem(ctx: SkillContext, item: StreamItem, track: (task: { id: string; contextId: string }) => Promise<void>): Promise<TaskStatus | undefined> {
  switch (item.kind) {
    case 'message':
      // A peer that answers with a message alone: that is the result.
      await ctx.complete(item.message.parts);
      return undefined;
    case 'task':
      await track(item.task);
      for (const artifact of item.task.artifacts) await ctx.artifact(artifact, { lastChunk: true });
      return isTerminal(item.task.status.state) || isInterrupted(item.task.status.state) ? item.task.status : undefined;
    case 'artifact-update':
      await ctx.artifact(item.artifact, { append: item.append, lastChunk: item.lastChunk });
      return undefined;
    case 'status-update': {
      const { status } = item;
      if (isTerminal(status.state) || isInterrupted(status.state)) return status;
      await ctx.working(status.message?.parts);
      return undefined;
    }
  }
}

/** Without streaming: send without waiting, then poll with growing waits, mirroring what changed. */
async function poll(
  ctx: SkillContext,
  client: A2AClient,
  message: Message,
  options: DelegateOptions,
  track: (task: { id: string; contextId: string }) => Promise<void>,
): Promise<TaskStatus | undefined> {
  const sent = await client.send(message, { returnImmediately: true, signal: ctx.signal });
  if (sent.kind === 'message') {
    await ctx.complete(sent.message.parts);
    return undefined;
  }
  let task: Task = sent.task;
  await track(task);
  const seen = new Map<string, string>();
  let wait = options.pollMs ?? 500;
  for (;;) {
    for (const artifact of task.artifacts) await mirrorArtifact(ctx, artifact, seen);
    const { state } = task.status;
    if (isTerminal(state) || isInterrupted(state)) return task.status;
    await sleep(wait, undefined, { signal: ctx.signal });
    wait = Math.min(wait * 2, options.maxPollMs ?? 5000);
    task = await client.getTask(task.id, { signal: ctx.signal });
  }
}

async function mirrorArtifact(ctx: SkillContext, artifact: Artifact, seen: Map<string, string>): Promise<void> {
  const fingerprint = JSON.stringify(artifact);
  if (seen.get(artifact.artifactId) === fingerprint) return;
  seen.set(artifact.artifactId, fingerprint);
  await ctx.artifact(artifact, { lastChunk: true });
}

async function finish(ctx: SkillContext, status: TaskStatus | undefined): Promise<void> {
  if (status === undefined) return;
  const reply: AgentReply | undefined = status.message?.parts;
  switch (status.state) {
    case 'completed':
      return ctx.complete(reply);
    case 'input-required':
      return ctx.requireInput(reply ?? 'the peer agent asks for more input');
    case 'auth-required':
      return ctx.requireAuth(reply ?? 'the peer agent asks for authorization');
    case 'rejected':
      return ctx.reject(reply ?? 'the peer agent rejected the task');
    case 'canceled':
      return ctx.fail('the peer agent canceled the delegated task');
    default:
      return ctx.fail(reply ?? `the peer agent's task ended ${status.state}`);
  }
}

function noPeerMessage(target: DelegationTarget, peers: readonly PeerStatus[]): string {
  const wanted = target.skill !== undefined ? `skill "${target.skill}"` : target.tag !== undefined ? `tag "${target.tag}"` : `peer ${target.peer}`;
  const healthy = peers.filter((p) => p.state === 'healthy' && p.source !== 'sibling');
  const known = healthy.length === 0 ? 'no healthy peer is known' : `healthy peers offer: ${[...new Set(healthy.flatMap((p) => p.skills.map((s) => s.id)))].join(', ') || 'nothing'}`;
  return `no healthy peer agent offers the ${wanted} (${known}); check A2A_PEERS, VAPORA_URL and GET /peers`;
}
