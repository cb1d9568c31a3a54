import { DomainError, UnavailableError } from '../model/errors.js';
import type { Caller } from '../model/model.js';
import { isAgentTaskId, isValidAlias } from '../model/task-alias.js';
import type { A2aRequest, CallContext, Replicas } from './dispatcher.js';
import type { TaskService } from './task-service.js';

// An A2A 0.2 client names its task by an id of its own choosing, kept with the
// task as an alias. Our ids name their pod; an alias names none. In per-pod
// mode, a request by an alias this pod does not hold asks every other replica
// (as ListTasks does) which of them holds it, and from then on names the task
// by our id, which routes it to its owner like any other request.

const REPLICA_RETRY_AFTER_SECONDS = 5;

/** The alias a request names its task by, if it does: not one of our ids, and valid as an alias (anything else is simply not found). */
export function aliasOf(request: A2aRequest): string | undefined {
  let name: string | undefined;
  switch (request.operation) {
    case 'send':
    case 'stream':
      name = request.send.message.taskId === undefined ? request.send.taskAlias : undefined;
      break;
    case 'get':
    case 'cancel':
    case 'subscribe':
      name = request.query.mayBeAlias === true ? request.query.id : undefined;
      break;
    default:
      return undefined;
  }
  return name !== undefined && !isAgentTaskId(name) && isValidAlias(name) ? name : undefined;
}

/**
 * Our id of the caller's task by this alias, when another replica holds it;
 * undefined when this pod does or nobody does (a send then creates it here).
 * If a replica did not answer, the alias may be its: the request is refused
 * as retryable rather than answered "not found" or given a second task under
 * the same name.
 */
export async function taskIdElsewhere(replicas: Replicas, service: TaskService, caller: Caller, alias: string, context: CallContext): Promise<string | undefined> {
  if (await service.hasAlias(caller, alias)) return undefined;
  const missing: string[] = [];
  const holders: { pod: string; taskId: string }[] = [];
  await Promise.all(
    replicas.pods().map(async (pod) => {
      if (pod === replicas.self) return;
      try {
        // A relayed GetTask may name the task by its alias (Dispatcher.serve).
        const answer = await replicas.call(pod, caller, { operation: 'get', query: { id: alias, historyLength: 0 } }, { ...context, fanOut: true });
        if (answer.kind === 'task') holders.push({ pod, taskId: answer.task.id });
      } catch (error) {
        // Not found there, in whatever form the replica's answer came back.
        if (!(error instanceof DomainError && error.reason === 'TASK_NOT_FOUND')) missing.push(`${pod} (${error instanceof Error ? error.message : String(error)})`);
      }
    }),
  );
  // Two replicas with one alias (two first sends raced on different pods): the first by name answers, every time.
  if (holders.length > 0) return holders.sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0))[0]!.taskId;
  if (missing.length > 0) {
    throw new UnavailableError(`task ${alias} is not on this replica and ${missing.sort().join(', ')} did not answer whether it is theirs; retry shortly`, REPLICA_RETRY_AFTER_SECONDS);
  }
  return undefined;
}

/** The request with its task named by our id instead of the alias (its answers still name it as the caller did: the binding encodes them). */
export function namedById(request: A2aRequest, taskId: string): A2aRequest {
  switch (request.operation) {
    case 'send':
    case 'stream':
      return { ...request, send: { ...request.send, message: { ...request.send.message, taskId } } };
    case 'get':
    case 'cancel':
    case 'subscribe':
      return { ...request, query: { ...request.query, id: taskId, mayBeAlias: false } } as A2aRequest;
    default:
      return request;
  }
}
