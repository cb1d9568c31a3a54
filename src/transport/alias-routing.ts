import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { TaskService } from '../core/task-service.js';
import { UnavailableError } from '../model/errors.js';
import type { Caller } from '../model/model.js';
import { isAgentTaskId, isValidAlias } from '../model/task-alias.js';
import { requestEnvelope } from '../protocol/jsonrpc.js';
import type { ResolvedMethod } from '../protocol/methods.js';
import { methodName } from '../protocol/methods.js';
import { endSpan } from '../observability/tracing.js';
import type { ClusterRouting } from './owner-routing.js';
import { describe, foreignOwner, forwardHeaders, HOP_HEADER, hopSpan, routedTaskId } from './owner-routing.js';

const REPLICA_RETRY_AFTER_SECONDS = 5;
const TASK_NOT_FOUND = -32001;
const GET_TASK_V02 = methodName('0.2', 'get')!;

/** A request to relay: the task it names (as the caller named it) and the replica that holds it. */
export interface RouteTarget {
  taskId: string;
  owner: string;
}

/**
 * Where a request about a task goes in per-pod mode, when not here. Our ids
 * name their pod. An A2A 0.2 client names its task by an alias, which names
 * no pod: unless this pod holds it, every other replica is asked (as for
 * ListTasks) and the one that holds it serves the request. A send under an
 * alias nobody holds creates the task here; if a replica did not answer, the
 * alias may be its, so the request is refused as retryable rather than
 * risking a second task under the same name.
 */
export async function routeTarget(
  req: IncomingMessage,
  routing: ClusterRouting,
  resolved: ResolvedMethod,
  params: unknown,
  caller: Caller,
  service: TaskService,
): Promise<RouteTarget | undefined> {
  const name = resolved.version === '0.2' ? taskNameOf(params) : routedTaskId(resolved.operation, params);
  if (name === undefined) return undefined;
  if (resolved.version !== '0.2' || isAgentTaskId(name)) {
    const owner = foreignOwner(req, routing, name);
    return owner === undefined ? undefined : { taskId: name, owner };
  }
  if (!isValidAlias(name) || req.headers[HOP_HEADER] !== undefined || !ADDRESSED_BY_ALIAS.has(resolved.operation)) return undefined;
  if (await service.hasAlias(caller, name)) return undefined;
  const owner = await aliasHolder(req, routing, caller, name);
  return owner === undefined ? undefined : { taskId: name, owner };
}

const ADDRESSED_BY_ALIAS: ReadonlySet<string> = new Set(['send', 'stream', 'get', 'cancel', 'subscribe']);

function taskNameOf(params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const id = (params as Record<string, unknown>).id;
  return typeof id === 'string' ? id : undefined;
}

/** The other replica that holds the caller's task by this alias, if any does. */
async function aliasHolder(req: IncomingMessage, routing: ClusterRouting, caller: Caller, alias: string): Promise<string | undefined> {
  const missing: string[] = [];
  const holders: string[] = [];
  await Promise.all(
    routing.siblings().map(async (pod) => {
      if (pod === routing.self) return;
      try {
        if (await holdsAlias(req, routing, caller, pod, alias)) holders.push(pod);
      } catch (error) {
        missing.push(`${pod} (${describe(error)})`);
      }
    }),
  );
  // Two replicas with one alias (two first sends raced on different pods): the first by name answers, every time.
  if (holders.length > 0) return holders.sort()[0];
  if (missing.length > 0) {
    throw new UnavailableError(
      `task ${alias} is not on this replica and ${missing.sort().join(', ')} did not answer whether it is theirs; retry shortly`,
      REPLICA_RETRY_AFTER_SECONDS,
    );
  }
  return undefined;
}

/** Asks one replica for the task by its alias, over the pod client, so the pod deadlines and the caller's assertion apply. */
async function holdsAlias(req: IncomingMessage, routing: ClusterRouting, caller: Caller, pod: string, alias: string): Promise<boolean> {
  const span = hopSpan(routing, pod, 'get');
  let outcome = 'replica_unavailable';
  let why: string | undefined;
  try {
    const headers: Record<string, string> = { ...forwardHeaders(req, routing, caller, pod, span), accept: 'application/json' };
    // 0.2 is recognised by its method names alone: no A2A-Version may travel with it.
    delete headers['a2a-version'];
    const answer = await routing.client.post(`${routing.urlOf(pod)}/`, headers, requestEnvelope(randomUUID(), GET_TASK_V02, { id: alias, historyLength: 0 }), 'prompt');
    const text = await answer.text();
    let body: { result?: unknown; error?: { code?: unknown; message?: unknown } };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new Error(`its answer (HTTP ${answer.status}) is not JSON`);
    }
    if (body.result === undefined && body.error?.code !== TASK_NOT_FOUND) throw new Error(`it answered: ${String(body.error?.message ?? 'no result')}`);
    outcome = 'ok';
    return body.result !== undefined;
  } catch (error) {
    why = describe(error);
    throw error;
  } finally {
    endSpan(span, outcome, why);
  }
}
