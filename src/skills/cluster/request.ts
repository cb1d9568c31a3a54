// What a cluster request asks for, read from a message: a data part
// {namespace, kind, name, action, container, tailLines, previous}, or text in
// a small grammar, plus metadata.namespace. Across the turns of a task the
// user's messages add up, so "diagnose statefulset kagent" followed by the
// answer "kagent" to "which namespace?" is one request.
//
// Text grammar (words in any order after the action):
//   [action] <kind>[/<name>] [<name>] [in [namespace] <ns> | -n <ns> | namespace <ns>]
//            [container <c> | -c <c>] [tail <n> | --tail=<n>] [previous | -p]
// actions: list | get | describe | show | logs | rollout status | status | diagnose | why | troubleshoot | check
// kinds:   pod(s)/po, deployment(s)/deploy, statefulset(s)/sts, replicaset(s)/rs,
//          event(s)/ev, persistentvolumeclaim(s)/pvc(s), node(s)/no, namespace/ns, all

import type { JsonObject, JsonValue, Message } from '../../model/model.js';
import { trimEndChars, trimStartChars } from '../../model/text.js';

export type Kind = 'pod' | 'deployment' | 'statefulset' | 'replicaset' | 'event' | 'pvc' | 'node' | 'namespace';
export type Action = 'list' | 'describe' | 'logs' | 'rollout-status' | 'diagnose';

export interface ClusterRequest {
  action?: Action;
  kind?: Kind;
  /** The kind was named in the plural ("pods"): every object of it, not one. */
  plural?: boolean;
  name?: string;
  namespace?: string;
  container?: string;
  tailLines?: number;
  previous?: boolean;
}

/**
 * A request the skill cannot read: the reason names the field or word. Text
 * can be rephrased (the task asks again); a malformed data part is the
 * caller's bug (the task is rejected).
 */
export class RequestError extends Error {
  override name = 'RequestError';
  constructor(
    message: string,
    readonly source: 'text' | 'data' = 'text',
  ) {
    super(message);
  }
}

const KIND_WORDS: Readonly<Record<string, [Kind, boolean]>> = {
  pod: ['pod', false], pods: ['pod', true], po: ['pod', false],
  deployment: ['deployment', false], deployments: ['deployment', true], deploy: ['deployment', false], deploys: ['deployment', true],
  statefulset: ['statefulset', false], statefulsets: ['statefulset', true], sts: ['statefulset', false],
  replicaset: ['replicaset', false], replicasets: ['replicaset', true], rs: ['replicaset', false],
  event: ['event', true], events: ['event', true], ev: ['event', true],
  persistentvolumeclaim: ['pvc', false], persistentvolumeclaims: ['pvc', true], pvc: ['pvc', false], pvcs: ['pvc', true], claim: ['pvc', false], claims: ['pvc', true],
  node: ['node', true], nodes: ['node', true], no: ['node', true],
  namespace: ['namespace', false], ns: ['namespace', false],
  all: ['namespace', false], everything: ['namespace', false],
};

const ACTION_WORDS: Readonly<Record<string, Action>> = {
  list: 'list', ls: 'list',
  get: 'describe', describe: 'describe', show: 'describe', inspect: 'describe',
  logs: 'logs', log: 'logs',
  status: 'rollout-status',
  diagnose: 'diagnose', why: 'diagnose', troubleshoot: 'diagnose', check: 'diagnose', debug: 'diagnose',
};

/** Words that carry no meaning in a request: "why is the statefulset kagent not ready". */
const FILLER = new Set([
  'a', 'an', 'the', 'is', 'are', 'of', 'for', 'please', 'me', 'my', 'what', "what's", 'whats', 'wrong', 'with', 'not', 'ready',
  'failing', 'broken', 'crashing', 'stuck', 'pending', 'down', 'unhealthy', 'going', 'on', 'happening', 'to', 'and', 'its', "it's",
  'cluster', 'kubernetes', 'k8s',
]);

const DNS_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

// An error names what it could not read, but never echoes a whole (possibly huge) message back.
const MAX_QUOTED_WORDS = 5;
const MAX_QUOTED_LENGTH = 80;

function quoted(word: string): string {
  return `"${word.length > MAX_QUOTED_LENGTH ? `${word.slice(0, MAX_QUOTED_LENGTH)}…` : word}"`;
}

export function kindOf(word: string): Kind | undefined {
  return KIND_WORDS[word.toLowerCase()]?.[0];
}

/** Reads one message: its data parts, text parts and metadata.namespace. */
export function parseMessage(message: Message): ClusterRequest {
  const request: ClusterRequest = {};
  for (const part of message.parts) {
    if (part.kind === 'data') Object.assign(request, parseData(part.data));
    else if (part.kind === 'text') Object.assign(request, withoutUndefined(parseText(part.text)));
  }
  const namespace = message.metadata?.namespace;
  if (namespace !== undefined && request.namespace === undefined) request.namespace = namespaceValue(namespace, 'metadata.namespace');
  return request;
}

/**
 * The request the user's turns add up to. A reply that is a single bare word
 * answers what the task asked for: the kind, the namespace, the name or the
 * container, whichever is missing first.
 */
export function resolveRequest(history: readonly Message[], current: Message): ClusterRequest {
  const turns = history.filter((m) => m.role === 'user' && m.messageId !== current.messageId);
  let merged: ClusterRequest = {};
  for (const message of [...turns, current]) {
    const bare = bareWord(message);
    if (bare !== undefined && Object.keys(merged).length > 0) {
      if (merged.kind === undefined && kindOf(bare) !== undefined) merged = { ...merged, ...withoutUndefined(parseText(bare)) };
      else if (merged.namespace === undefined && merged.kind !== 'node') merged = { ...merged, namespace: checkName(bare, 'namespace') };
      else if (merged.name === undefined) merged = { ...merged, name: checkName(bare, 'name'), plural: false };
      else if (merged.action === 'logs' && merged.container === undefined) merged = { ...merged, container: checkName(bare, 'container') };
      else merged = { ...merged, ...withoutUndefined(parseMessage(message)) };
      merged = implied(merged);
      continue;
    }
    merged = implied({ ...merged, ...withoutUndefined(parseMessage(message)) });
  }
  return merged;
}

/** Logs come from pods: "logs kagent-0" names a pod. */
function implied(request: ClusterRequest): ClusterRequest {
  return request.action === 'logs' && request.kind === undefined ? { ...request, kind: 'pod' } : request;
}

function bareWord(message: Message): string | undefined {
  if (message.parts.length !== 1 || message.parts[0]!.kind !== 'text') return undefined;
  const words = trimEndChars(message.parts[0]!.text.trim(), '.?!').split(/\s+/);
  if (words.length !== 1 || words[0] === '') return undefined;
  const word = words[0]!;
  return ACTION_WORDS[word.toLowerCase()] === undefined && !word.includes('/') ? word : undefined;
}

export function parseText(text: string): ClusterRequest {
  const words = text
    .trim()
    .split(/\s+/)
    .map((w) => trimEndChars(trimStartChars(w, '"\'`('), '"\'`),;:?!').replace(/\.$/, ''))
    .filter((w) => w !== '');
  const request: ClusterRequest = {};
  const unknown: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const lower = word.toLowerCase();
    const next = () => {
      const value = words[++i];
      if (value === undefined) throw new RequestError(`${quoted(word)} must be followed by a value`);
      return value;
    };
    const flag = /^--?([a-z-]+)=(.*)$/i.exec(word);
    if (flag !== null) {
      const [, key, value] = flag;
      if (key === 'namespace' || key === 'n') request.namespace = checkName(value!, 'namespace');
      else if (key === 'container' || key === 'c') request.container = checkName(value!, 'container');
      else if (key === 'tail') request.tailLines = tailValue(value!);
      else throw new RequestError(`unknown option ${quoted(word)}`);
      continue;
    }
    if (lower === 'rollout' && words[i + 1]?.toLowerCase() === 'status') {
      request.action = 'rollout-status';
      i++;
    } else if (lower === 'rollout') {
      request.action = 'rollout-status';
    } else if (request.action === undefined && request.kind === undefined && ACTION_WORDS[lower] !== undefined) {
      request.action = ACTION_WORDS[lower];
    } else if (lower === 'in' || lower === '-n' || lower === '--namespace') {
      let value = next();
      if (lower === 'in' && (value.toLowerCase() === 'namespace' || value.toLowerCase() === 'ns')) value = next();
      request.namespace = checkName(value, 'namespace');
    } else if ((lower === 'namespace' || lower === 'ns') && (request.kind !== undefined || request.name !== undefined) && words[i + 1] !== undefined) {
      request.namespace = checkName(next(), 'namespace');
    } else if (lower === 'container' || lower === '-c' || lower === '--container') {
      request.container = checkName(next(), 'container');
    } else if (lower === 'tail' || lower === '--tail' || lower === 'last') {
      request.tailLines = tailValue(next());
      if (/^lines?$/i.test(words[i + 1] ?? '')) i++;
    } else if (lower === 'previous' || lower === '-p' || lower === '--previous') {
      request.previous = true;
    } else if (request.kind === undefined && word.includes('/')) {
      const [kindWord, name] = word.split('/', 2) as [string, string];
      const kind = kindOf(kindWord);
      if (kind === undefined) throw new RequestError(`unknown kind ${quoted(kindWord)} in ${quoted(word)}`);
      request.kind = kind;
      request.plural = false;
      request.name = checkName(name, 'name');
    } else if (request.kind === undefined && KIND_WORDS[lower] !== undefined) {
      const [kind, plural] = KIND_WORDS[lower]!;
      request.kind = kind;
      request.plural = plural;
      if (kind === 'namespace' && lower !== 'all' && lower !== 'everything') {
        const value = words[i + 1];
        if (value !== undefined && !isKeyword(value)) request.namespace = checkName(next(), 'namespace');
      }
    } else if (request.name === undefined && !FILLER.has(lower) && !isKeyword(word) && DNS_NAME.test(word)) {
      request.name = word;
    } else if (!FILLER.has(lower)) {
      unknown.push(word);
    }
  }
  if (unknown.length > 0) {
    const more = unknown.length > MAX_QUOTED_WORDS ? ` and ${unknown.length - MAX_QUOTED_WORDS} more words` : '';
    throw new RequestError(`could not read ${unknown.slice(0, MAX_QUOTED_WORDS).map(quoted).join(', ')}${more}`);
  }
  if (request.kind === 'namespace') delete request.name;
  return request;
}

function isKeyword(word: string): boolean {
  const lower = word.toLowerCase();
  return ['in', '-n', '--namespace', 'container', '-c', '--container', 'tail', '--tail', 'previous', '-p', '--previous'].includes(lower);
}

function tailValue(value: string, source: RequestError['source'] = 'text'): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new RequestError(`tail must be a positive whole number of lines, not ${quoted(value)}`, source);
  return n;
}

function checkName(value: string, field: string, source: RequestError['source'] = 'text'): string {
  if (!DNS_NAME.test(value) || value.length > 253) throw new RequestError(`${field} ${quoted(value)} is not a valid Kubernetes name`, source);
  return value;
}

function namespaceValue(value: JsonValue, field: string): string {
  if (typeof value !== 'string') throw new RequestError(`${field} must be a string`, 'data');
  return checkName(value, field, 'data');
}

const DATA_FIELDS = ['namespace', 'kind', 'name', 'action', 'container', 'tailLines', 'previous'];

function parseData(data: JsonValue): ClusterRequest {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new RequestError('the data part must be an object {namespace, kind, name, action}', 'data');
  const object = data as JsonObject;
  const unknown = Object.keys(object).filter((key) => !DATA_FIELDS.includes(key));
  if (unknown.length > 0) throw new RequestError(`unknown field(s) in the data part: ${unknown.join(', ')} (known: ${DATA_FIELDS.join(', ')})`, 'data');
  const request: ClusterRequest = {};
  const string = (key: string): string | undefined => {
    const value = object[key];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw new RequestError(`data.${key} must be a string`, 'data');
    return value;
  };
  const namespace = string('namespace');
  if (namespace !== undefined) request.namespace = checkName(namespace, 'data.namespace', 'data');
  const kind = string('kind');
  if (kind !== undefined) {
    const found = KIND_WORDS[kind.toLowerCase()];
    if (found === undefined) throw new RequestError(`data.kind ${quoted(kind)} is not one of pod, deployment, statefulset, replicaset, event, pvc, node, namespace`, 'data');
    [request.kind, request.plural] = found;
  }
  const name = string('name');
  if (name !== undefined) {
    request.name = checkName(name, 'data.name', 'data');
    request.plural = false;
  }
  const action = string('action');
  if (action !== undefined) {
    const normalized = action.toLowerCase().replace(/[\s_]+/g, '-');
    const found = normalized === 'rollout-status' ? 'rollout-status' : ACTION_WORDS[normalized];
    if (found === undefined) throw new RequestError(`data.action ${quoted(action)} is not one of list, describe, logs, rollout-status, diagnose`, 'data');
    request.action = found;
  }
  const container = string('container');
  if (container !== undefined) request.container = checkName(container, 'data.container', 'data');
  if (object.tailLines !== undefined && object.tailLines !== null) {
    if (typeof object.tailLines !== 'number') throw new RequestError('data.tailLines must be a number', 'data');
    request.tailLines = tailValue(String(object.tailLines), 'data');
  }
  if (object.previous !== undefined && object.previous !== null) {
    if (typeof object.previous !== 'boolean') throw new RequestError('data.previous must be true or false', 'data');
    request.previous = object.previous;
  }
  if (request.kind === 'namespace') {
    if (request.name !== undefined && request.namespace === undefined) request.namespace = request.name;
    delete request.name;
  }
  return request;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** "statefulset kagent", "pods", "namespace kagent": for questions and reports. */
export function describeTarget(request: ClusterRequest): string {
  if (request.kind === 'namespace') return `namespace ${request.namespace ?? ''}`.trim();
  const kind = request.kind ?? 'object';
  if (request.name !== undefined) return `${kind} ${request.name}`;
  return `${kind}s`;
}
