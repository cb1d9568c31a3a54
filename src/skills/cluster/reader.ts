import { AppsV1Api, CoreV1Api, Observable } from '@kubernetes/client-node';
import type {
  ConfigurationOptions,
  CoreV1Event,
  KubeConfig,
  ObservableMiddleware,
  V1Deployment,
  V1Node,
  V1PersistentVolumeClaim,
  V1Pod,
  V1ReplicaSet,
  V1StatefulSet,
} from '@kubernetes/client-node';
import type { ApiVerb } from './permissions.js';
import { describePermission, isDeclared } from './permissions.js';

/** What went wrong talking to the API server, in terms a task reply can use. */
export type ClusterErrorKind = 'forbidden' | 'not-found' | 'unauthorized' | 'unreachable' | 'failed';

export class ClusterApiError extends Error {
  constructor(
    readonly kind: ClusterErrorKind,
    message: string,
    readonly call: ApiCall,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ClusterApiError';
  }

  /** "list pods in namespace shop", "list nodes (cluster-wide)". */
  get permission(): string {
    return permissionOf(this.call);
  }
}

function permissionOf(call: ApiCall): string {
  return `${describePermission(call.group, call.resource, call.verb)}${call.namespace === undefined ? ' (cluster-wide)' : ` in namespace ${call.namespace}`}`;
}

export interface ApiCall {
  group: '' | 'apps';
  resource: string;
  verb: ApiVerb;
  namespace?: string;
  name?: string;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
}

/** A page of a list: at most `limit` items; `truncated` when the server holds more. */
export interface Listed<T> {
  items: T[];
  truncated: boolean;
}

export interface LogOptions {
  container?: string;
  previous?: boolean;
  /** Always sent: a log is read as a bounded tail, never whole. */
  tailLines: number;
  limitBytes: number;
}

export interface ReaderOptions {
  /** The cluster to read, or how to get it (called once, on first use; its error fails the task). */
  kubeConfig: KubeConfig | (() => KubeConfig);
  /** Longest wait for one API response. */
  requestTimeoutMs?: number;
  /** Most items one list request returns. */
  listLimit?: number;
}

interface Clients {
  core: CoreV1Api;
  apps: AppsV1Api;
  server: string;
}

/**
 * Read-only access to the Kubernetes API through @kubernetes/client-node.
 * Every request is checked against the declared permissions first, carries
 * the caller's AbortSignal, and is bounded (list limit, log tail, timeout).
 */
export class ClusterReader {
  private clients: Clients | undefined;
  private readonly timeoutMs: number;
  readonly listLimit: number;

  constructor(private readonly options: ReaderOptions) {
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.listLimit = options.listLimit ?? 500;
  }

  listPods(namespace: string, signal: AbortSignal, list: ListOptions = {}): Promise<Listed<V1Pod>> {
    return this.list({ group: '', resource: 'pods', verb: 'list', namespace }, signal, list, (c, limit, o) =>
      c.core.listNamespacedPod({ namespace, labelSelector: list.labelSelector, fieldSelector: list.fieldSelector, limit }, o),
    );
  }

  getPod(namespace: string, name: string, signal: AbortSignal): Promise<V1Pod> {
    return this.call({ group: '', resource: 'pods', verb: 'get', namespace, name }, signal, (c, o) => c.core.readNamespacedPod({ namespace, name }, o));
  }

  podLog(namespace: string, name: string, log: LogOptions, signal: AbortSignal): Promise<string> {
    return this.call({ group: '', resource: 'pods/log', verb: 'get', namespace, name }, signal, (c, o) =>
      c.core.readNamespacedPodLog(
        { namespace, name, container: log.container, previous: log.previous === true ? true : undefined, tailLines: log.tailLines, limitBytes: log.limitBytes },
        o,
      ),
    );
  }

  listEvents(namespace: string, signal: AbortSignal, list: ListOptions = {}): Promise<Listed<CoreV1Event>> {
    return this.list({ group: '', resource: 'events', verb: 'list', namespace }, signal, list, (c, limit, o) =>
      c.core.listNamespacedEvent({ namespace, fieldSelector: list.fieldSelector, labelSelector: list.labelSelector, limit }, o),
    );
  }

  listPersistentVolumeClaims(namespace: string, signal: AbortSignal, list: ListOptions = {}): Promise<Listed<V1PersistentVolumeClaim>> {
    return this.list({ group: '', resource: 'persistentvolumeclaims', verb: 'list', namespace }, signal, list, (c, limit, o) =>
      c.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector: list.labelSelector, limit }, o),
    );
  }

  getPersistentVolumeClaim(namespace: string, name: string, signal: AbortSignal): Promise<V1PersistentVolumeClaim> {
    return this.call({ group: '', resource: 'persistentvolumeclaims', verb: 'get', namespace, name }, signal, (c, o) =>
      c.core.readNamespacedPersistentVolumeClaim({ namespace, name }, o),
    );
  }

  listNodes(signal: AbortSignal, list: ListOptions = {}): Promise<Listed<V1Node>> {
    return this.list({ group: '', resource: 'nodes', verb: 'list' }, signal, list, (c, limit, o) =>
      c.core.listNode({ labelSelector: list.labelSelector, limit }, o),
    );
  }

  listDeployments(namespace: string, signal: AbortSignal, list: ListOptions = {}): Promise<Listed<V1Deployment>> {
    return this.list({ group: 'apps', resource: 'deployments', verb: 'list', namespace }, signal, list, (c, limit, o) =>
      c.apps.listNamespacedDeployment({ namespace, labelSelector: list.labelSelector, limit }, o),
    );
  }

  getDeployment(namespace: string, name: string, signal: AbortSignal): Promise<V1Deployment> {
    return this.call({ group: 'apps', resource: 'deployments', verb: 'get', namespace, name }, signal, (c, o) =>
      c.apps.readNamespacedDeployment({ namespace, name }, o),
    );
  }

  listStatefulSets(namespace: string, signal: AbortSignal, list: ListOptions = {}): Promise<Listed<V1StatefulSet>> {
    return this.list({ group: 'apps', resource: 'statefulsets', verb: 'list', namespace }, signal, list, (c, limit, o) =>
      c.apps.listNamespacedStatefulSet({ namespace, labelSelector: list.labelSelector, limit }, o),
    );
  }

  getStatefulSet(namespace: string, name: string, signal: AbortSignal): Promise<V1StatefulSet> {
    return this.call({ group: 'apps', resource: 'statefulsets', verb: 'get', namespace, name }, signal, (c, o) =>
      c.apps.readNamespacedStatefulSet({ namespace, name }, o),
    );
  }

  listReplicaSets(namespace: string, signal: AbortSignal, list: ListOptions = {}): Promise<Listed<V1ReplicaSet>> {
    return this.list({ group: 'apps', resource: 'replicasets', verb: 'list', namespace }, signal, list, (c, limit, o) =>
      c.apps.listNamespacedReplicaSet({ namespace, labelSelector: list.labelSelector, limit }, o),
    );
  }

  private connect(): Clients {
    if (this.clients === undefined) {
      const kc = typeof this.options.kubeConfig === 'function' ? this.options.kubeConfig() : this.options.kubeConfig;
      const cluster = kc.getCurrentCluster();
      if (cluster === null) throw new Error('the kubeconfig has no current cluster');
      this.clients = { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api), server: cluster.server };
    }
    return this.clients;
  }

  private async list<T>(
    call: ApiCall,
    signal: AbortSignal,
    list: ListOptions,
    run: (clients: Clients, limit: number, options: ConfigurationOptions) => Promise<{ items: T[]; metadata?: { _continue?: string } }>,
  ): Promise<Listed<T>> {
    const limit = Math.min(list.limit ?? this.listLimit, this.listLimit);
    const result = await this.call(call, signal, (clients, options) => run(clients, limit, options));
    return { items: result.items, truncated: (result.metadata?._continue ?? '') !== '' };
  }

  private async call<T>(call: ApiCall, signal: AbortSignal, run: (clients: Clients, options: ConfigurationOptions) => Promise<T>): Promise<T> {
    if (!isDeclared(call.group, call.resource, call.verb)) {
      throw new Error(`${describePermission(call.group, call.resource, call.verb)} is not a declared permission of the cluster skills (permissions.ts)`);
    }
    signal.throwIfAborted();
    const clients = this.connect();
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = AbortSignal.any([signal, timeout]);
    try {
      return await run(clients, withSignal(combined));
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (timeout.aborted) throw new ClusterApiError('unreachable', `the API server at ${clients.server} did not answer ${describeCall(call)} within ${this.timeoutMs} ms`, call);
      throw toClusterError(error, call, clients.server);
    }
  }
}

/** Per-request options that hand the signal to the HTTP request, after the configuration's own middleware. */
function withSignal(signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (context) => new Observable(Promise.resolve(context)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

function describeCall(call: ApiCall): string {
  const what = `${describePermission(call.group, call.resource, call.verb)}${call.name === undefined ? '' : ` ${call.name}`}`;
  return call.namespace === undefined ? what : `${what} in namespace ${call.namespace}`;
}

interface StatusBody {
  message?: string;
  reason?: string;
}

function statusOf(body: unknown): StatusBody {
  if (typeof body === 'string') {
    try {
      return statusOf(JSON.parse(body));
    } catch {
      return body.trim() === '' ? {} : { message: body.trim() };
    }
  }
  if (body !== null && typeof body === 'object') return body as StatusBody;
  return {};
}

function toClusterError(error: unknown, call: ApiCall, server: string): ClusterApiError {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'number') {
    const status = statusOf((error as { body?: unknown }).body);
    const said = status.message ? ` (the API server said: ${status.message})` : '';
    switch (code) {
      case 403:
        return new ClusterApiError('forbidden', `forbidden: the agent's service account may not ${permissionOf(call)}${said}`, call, code);
      case 404:
        return new ClusterApiError('not-found', `${call.resource} ${call.name ?? ''} not found${call.namespace === undefined ? '' : ` in namespace ${call.namespace}`}${said}`.replace(/ {2,}/g, ' '), call, code);
      case 401:
        return new ClusterApiError('unauthorized', `the API server at ${server} rejected the agent's credentials (401 Unauthorized) for ${describeCall(call)}${said}`, call, code);
      default:
        return new ClusterApiError('failed', `the API server answered HTTP ${code} to ${describeCall(call)}${status.message ? `: ${status.message}` : ''}`, call, code);
    }
  }
  const reason = (error as { code?: unknown; message?: unknown }).message;
  return new ClusterApiError('unreachable', `cannot reach the API server at ${server} for ${describeCall(call)}: ${typeof reason === 'string' ? reason : String(error)}`, call);
}
