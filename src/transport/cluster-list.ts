import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { UnavailableError } from '../model/errors.js';
import type { ListTasksQuery, Task, TaskPage } from '../model/model.js';
import { decodeTask } from '../protocol/v1/codec.js';
import { encodePageToken } from '../store/page-token.js';
import type { ClusterRouting } from './owner-routing.js';
import { describe, forwardHeaders } from './owner-routing.js';

const REPLICA_RETRY_AFTER_SECONDS = 5;

/**
 * ListTasks through any pod: every replica answers for its own tasks (the
 * same query and page token), and the pages are merged newest-first. A page
 * token is a position in that global order, so one token resumes every
 * replica's list where the merged page ended.
 */
export async function listAcrossPods(
  req: IncomingMessage,
  routing: ClusterRouting,
  query: ListTasksQuery,
  rawParams: unknown,
  local: () => Promise<TaskPage>,
): Promise<TaskPage> {
  const pages = await Promise.all(routing.siblings().map((pod) => (pod === routing.self ? local() : remotePage(req, routing, pod, rawParams))));
  const merged = pages.flatMap((page) => page.tasks).sort(newestFirst);
  const tasks = merged.slice(0, query.pageSize);
  const more = merged.length > query.pageSize || pages.some((page) => page.nextPageToken !== '');
  const last = tasks[tasks.length - 1];
  return {
    tasks,
    nextPageToken: more && last !== undefined ? encodePageToken({ updatedAt: Date.parse(last.status.timestamp), id: last.id }) : '',
    pageSize: query.pageSize,
    totalSize: pages.reduce((sum, page) => sum + page.totalSize, 0),
  };
}

function newestFirst(a: Task, b: Task): number {
  const byTime = Date.parse(b.status.timestamp) - Date.parse(a.status.timestamp);
  if (byTime !== 0) return byTime;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

async function remotePage(req: IncomingMessage, routing: ClusterRouting, pod: string, rawParams: unknown): Promise<TaskPage> {
  const unavailable = (why: string) =>
    new UnavailableError(`replica ${pod} is unavailable (${why}), so the task list would be incomplete; retry shortly`, REPLICA_RETRY_AFTER_SECONDS);
  let body: { result?: { tasks?: unknown[]; nextPageToken?: unknown; totalSize?: unknown }; error?: { message?: unknown } };
  try {
    const res = await fetch(`${routing.urlOf(pod)}/`, {
      method: 'POST',
      headers: { ...forwardHeaders(req, routing.self), 'a2a-version': '1.0', accept: 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: randomUUID(), method: 'ListTasks', params: rawParams ?? {} }),
    });
    body = (await res.json()) as typeof body;
  } catch (error) {
    throw unavailable(describe(error));
  }
  if (body.result === undefined) throw unavailable(`it answered: ${String(body.error?.message ?? 'no result')}`);
  try {
    return {
      tasks: (body.result.tasks ?? []).map((task, i) => decodeTask(task, `result.tasks[${i}]`)),
      nextPageToken: typeof body.result.nextPageToken === 'string' ? body.result.nextPageToken : '',
      pageSize: 0,
      totalSize: typeof body.result.totalSize === 'number' ? body.result.totalSize : 0,
    };
  } catch (error) {
    throw unavailable(`its answer is malformed: ${describe(error)}`);
  }
}
