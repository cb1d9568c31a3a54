import { UnavailableError } from '../model/errors.js';
import type { ListTasksQuery, Task, TaskPage } from '../model/model.js';
import { encodePageToken } from '../model/page-token.js';

const REPLICA_RETRY_AFTER_SECONDS = 5;

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
 * all of them (`requireAll`).
 */
export async function listAcrossPods(
  pods: readonly string[],
  query: ListTasksQuery,
  pageOf: (pod: string) => Promise<TaskPage>,
  requireAll: boolean,
): Promise<ClusterPage> {
  const missing: { pod: string; why: string }[] = [];
  const pages = await Promise.all(
    pods.map(async (pod): Promise<TaskPage | undefined> => {
      try {
        return await pageOf(pod);
      } catch (error) {
        missing.push({ pod, why: error instanceof Error ? error.message : String(error) });
        return undefined;
      }
    }),
  );
  if (missing.length > 0 && requireAll) {
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
