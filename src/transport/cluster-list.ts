import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { UnavailableError } from '../model/errors.js';
import type { Caller, ListTasksQuery, Task, TaskPage } from '../model/model.js';
import { requestEnvelope } from '../protocol/jsonrpc.js';
import { methodName } from '../protocol/methods.js';
import { v1Codec } from '../protocol/v1/codec.js';
import { encodePageToken } from '../model/page-token.js';
import { endSpan } from '../observability/tracing.js';
import type { Span } from '../observability/tracing.js';
import type { ClusterRouting } from './owner-routing.js';
import { describe, forwardHeaders, hopSpan } from './owner-routing.js';

const REPLICA_RETRY_AFTER_SECONDS = 5;

/**
 * Response header of a ListTasks that some replicas did not answer: their pod
 * names, comma separated. Its tasks are the reachable replicas' only. A client
 * that knows nothing of it still gets a valid, if partial, list.
 */
export const MISSING_REPLICAS_HEADER = 'x-kagent-missing-replicas';

/** Request header: `true` asks for every replica's tasks or a retryable error (HTTP 503, -32050) instead of a partial list. */
export const REQUIRE_ALL_REPLICAS_HEADER = 'x-kagent-require-all-replicas';

export interface ClusterPage {
  page: TaskPage;
  /** Replicas that did not answer in time; their tasks are not in the page. */
  missing: string[];
}

/**
 * ListTasks through any pod: every replica answers for its own tasks (the
 * same query and page token), and the pages are merged newest-first. A page
 * token is a position in that global order, so one token resumes every
 * replica's list where the merged page ended. A replica that does not answer
 * within the pod deadlines is left out and named, unless the caller asked for
 * all of them.
 */
export async function listAcrossPods(
  req: IncomingMessage,
  routing: ClusterRouting,
  query: ListTasksQuery,
  rawParams: unknown,
  caller: Caller,
  local: () => Promise<TaskPage>,
): Promise<ClusterPage> {
  const missing: { pod: string; why: string }[] = [];
  const pages = await Promise.all(
    routing.siblings().map(async (pod): Promise<TaskPage | undefined> => {
      if (pod === routing.self) return local();
      try {
        return await remotePage(req, routing, pod, rawParams, caller);
      } catch (error) {
        missing.push({ pod, why: describe(error) });
        return undefined;
      }
    }),
  );
  if (missing.length > 0 && header(req, REQUIRE_ALL_REPLICAS_HEADER)?.toLowerCase() === 'true') {
    const names = missing.map((m) => `${m.pod} (${m.why})`).join(', ');
    throw new UnavailableError(`the task list would be incomplete: ${names} did not answer; retry shortly`, REPLICA_RETRY_AFTER_SECONDS);
  }
  const answered = pages.filter((page): page is TaskPage => page !== undefined);
  const merged = answered.flatMap((page) => page.tasks).sort(newestFirst);
  const tasks = merged.slice(0, query.pageSize);
  const more = merged.length > query.pageSize || answered.some((page) => page.nextPageToken !== '');
  const last = tasks[tasks.length - 1];
  return {
    page: {
      tasks,
      nextPageToken: more && last !== undefined ? encodePageToken({ updatedAt: Date.parse(last.status.timestamp), id: last.id }) : '',
      pageSize: query.pageSize,
      totalSize: answered.reduce((sum, page) => sum + page.totalSize, 0),
    },
    missing: missing.map((m) => m.pod).sort(),
  };
}

function newestFirst(a: Task, b: Task): number {
  const byTime = Date.parse(b.status.timestamp) - Date.parse(a.status.timestamp);
  if (byTime !== 0) return byTime;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

const LIST_TASKS = methodName('1.0', 'list')!;

/** One replica's own page, asked over the pod client so the pod deadlines and the caller's assertion apply. */
async function remotePage(req: IncomingMessage, routing: ClusterRouting, pod: string, rawParams: unknown, caller: Caller): Promise<TaskPage> {
  const span = hopSpan(routing, pod, 'list');
  try {
    const page = await askReplica(req, routing, pod, rawParams, caller, span);
    endSpan(span, 'ok');
    return page;
  } catch (error) {
    endSpan(span, 'replica_unavailable', describe(error));
    throw error;
  }
}

async function askReplica(req: IncomingMessage, routing: ClusterRouting, pod: string, rawParams: unknown, caller: Caller, span: Span | undefined): Promise<TaskPage> {
  const answer = await routing.client.post(
    `${routing.urlOf(pod)}/`,
    { ...forwardHeaders(req, routing, caller, pod, span), 'a2a-version': '1.0', accept: 'application/json' },
    requestEnvelope(randomUUID(), LIST_TASKS, rawParams ?? {}),
    'prompt',
  );
  const text = await answer.text();
  let body: { result?: unknown; error?: { message?: unknown } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`its answer (HTTP ${answer.status}) is not JSON`);
  }
  if (body.result === undefined) throw new Error(`it answered: ${String(body.error?.message ?? 'no result')}`);
  try {
    return v1Codec.decodeTaskPage(body.result, 'result');
  } catch (error) {
    throw new Error(`its answer is malformed: ${describe(error)}`);
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
