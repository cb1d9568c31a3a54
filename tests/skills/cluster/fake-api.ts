// A stand-in for the Kubernetes API server: no API server can run on this
// machine, so the cluster skills are tested against this one. It serves the
// recorded-shape fixtures in ./fixtures (list and object responses as the real
// server returns them: lists without per-item kind/apiVersion, Status objects
// for 401/403/404/400) over real HTTP on 127.0.0.1, applies labelSelector,
// fieldSelector, limit, and the log endpoint's container/previous/tailLines/
// limitBytes, checks the bearer token, and records every request so the tests
// can assert which API calls a skill made.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { PATIENCE_MS } from '../../support/patience.js';

export const FIXTURES = fileURLToPath(new URL('../../../../tests/skills/cluster/fixtures/', import.meta.url));

type Obj = Record<string, any>;
interface ListFixture {
  kind: string;
  apiVersion: string;
  metadata: Obj;
  items: Obj[];
}

const NAMESPACED = ['pods', 'events', 'persistentvolumeclaims', 'deployments', 'statefulsets', 'replicasets'] as const;

export interface Cluster {
  nodes: ListFixture;
  namespaces: Map<string, Record<string, ListFixture>>;
  /** "<ns>/<pod>/<container>" and "<ns>/<pod>/<container>/previous". */
  logs: Record<string, string>;
}

export function loadCluster(namespaces = ['kagent', 'staging', 'shop']): Cluster {
  const read = (file: string) => JSON.parse(readFileSync(`${FIXTURES}${file}`, 'utf8'));
  return {
    nodes: read('nodes.json'),
    namespaces: new Map(namespaces.map((ns) => [ns, read(`${ns}.json`)])),
    logs: read('logs.json'),
  };
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  group: string;
  resource: string;
  verb: string;
  namespace?: string;
  name?: string;
  authorization?: string;
}

export interface FakeApiOptions {
  token?: string;
}

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  private readonly forbidden: { verb: string; resource: string; namespace?: string }[] = [];
  private hangMatcher: ((request: RecordedRequest) => boolean) | undefined;
  private readonly hanging = new Set<ServerResponse>();
  /** Resolves with each hung request when its client goes away. */
  readonly abandoned: RecordedRequest[] = [];
  private arrivedWaiters: ((request: RecordedRequest) => void)[] = [];

  private constructor(
    private readonly server: Server,
    readonly cluster: Cluster,
    readonly token: string,
  ) {}

  static async start(cluster: Cluster = loadCluster(), options: FakeApiOptions = {}): Promise<FakeApiServer> {
    let fake: FakeApiServer | undefined;
    const server = createServer((req, res) => fake!.handle(req, res));
    fake = new FakeApiServer(server, cluster, options.token ?? 'fixture-token');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /**
   * A KubeConfig for this server, as a kubeconfig file with a bearer token
   * would give. The client refuses plain HTTP unless TLS verification is
   * off; the server is on loopback, so nothing is lost.
   */
  kubeConfig(token = this.token): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'agent', token }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'agent' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** Answers 403 to this verb on this resource (in this namespace, or everywhere). */
  forbid(verb: string, resource: string, namespace?: string): void {
    this.forbidden.push({ verb, resource, namespace });
  }

  /** Never answers requests that match: for cancellation and timeout tests. */
  hang(match: (request: RecordedRequest) => boolean): void {
    this.hangMatcher = match;
  }

  /** The next request matching, once it has arrived. */
  arrived(match: (request: RecordedRequest) => boolean, timeoutMs = PATIENCE_MS): Promise<RecordedRequest> {
    const earlier = this.requests.find(match);
    if (earlier) return Promise.resolve(earlier);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching request within ${timeoutMs} ms`)), timeoutMs);
      this.arrivedWaiters.push((request) => {
        if (!match(request)) return;
        clearTimeout(timer);
        resolve(request);
      });
    });
  }

  /** "GET list pods ns=shop" keys of what was called, in order. */
  calls(): string[] {
    return this.requests.map((r) => `${r.verb} ${r.group === '' ? '' : `${r.group}/`}${r.resource}${r.namespace ? ` ns=${r.namespace}` : ''}${r.name ? ` ${r.name}` : ''}`);
  }

  reset(): void {
    this.requests.length = 0;
    this.abandoned.length = 0;
    this.forbidden.length = 0;
    this.hangMatcher = undefined;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const route = parsePath(url.pathname);
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      group: route?.group ?? '?',
      resource: route?.resource ?? '?',
      verb: req.method !== 'GET' ? (req.method ?? '?').toLowerCase() : route?.name !== undefined ? 'get' : 'list',
      ...(route?.namespace === undefined ? {} : { namespace: route.namespace }),
      ...(route?.name === undefined ? {} : { name: route.name }),
      ...(req.headers.authorization === undefined ? {} : { authorization: req.headers.authorization }),
    };
    this.requests.push(recorded);
    for (const waiter of [...this.arrivedWaiters]) waiter(recorded);

    if (req.headers.authorization !== `Bearer ${this.token}`) return status(res, 401, 'Unauthorized', 'Unauthorized');
    if (req.method !== 'GET') return status(res, 405, 'MethodNotAllowed', `the fake API server is read-only: ${req.method} ${url.pathname}`);
    if (route === undefined) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    const denied = this.forbidden.find((f) => f.verb === recorded.verb && f.resource === route.resource && (f.namespace === undefined || f.namespace === route.namespace));
    if (denied !== undefined) {
      const who = 'User "system:serviceaccount:kagent:kagent"';
      const scope = route.namespace === undefined ? 'at the cluster scope' : `in the namespace "${route.namespace}"`;
      const subject = route.name === undefined ? route.resource.split('/')[0] : `${route.resource.split('/')[0]} "${route.name}"`;
      return status(res, 403, 'Forbidden', `${subject} is forbidden: ${who} cannot ${recorded.verb} resource "${route.resource}" in API group "${route.group}" ${scope}`, {
        ...(route.name === undefined ? {} : { name: route.name }),
        ...(route.group === '' ? {} : { group: route.group }),
        kind: route.resource.split('/')[0],
      });
    }
    if (this.hangMatcher?.(recorded)) {
      this.hanging.add(res);
      res.on('close', () => {
        this.hanging.delete(res);
        if (!res.writableEnded) this.abandoned.push(recorded);
      });
      return;
    }
    try {
      this.serve(route, query, res);
    } catch (error) {
      status(res, 400, 'BadRequest', (error as Error).message);
    }
  }

  private serve(route: Route, query: Record<string, string>, res: ServerResponse): void {
    const list =
      route.resource === 'nodes' ? this.cluster.nodes : route.namespace === undefined ? undefined : this.cluster.namespaces.get(route.namespace)?.[route.resource.split('/')[0]!];
    // A namespace the fixtures do not have is an empty one: the API server lists nothing there.
    const source: ListFixture = list ?? emptyList(route);
    const itemKind = source.kind.replace(/List$/, '');
    const qualified = route.group === '' ? route.resource.split('/')[0] : `${route.resource.split('/')[0]}.${route.group}`;

    if (route.name !== undefined) {
      const item = source.items.find((i) => i.metadata.name === route.name);
      if (item === undefined) return status(res, 404, 'NotFound', `${qualified} "${route.name}" not found`, { name: route.name, ...(route.group === '' ? {} : { group: route.group }), kind: route.resource.split('/')[0] });
      if (route.resource === 'pods/log') return this.serveLog(route, item, query, res);
      return json(res, 200, { kind: itemKind, apiVersion: source.apiVersion, ...item });
    }

    let items = source.items;
    if (query.labelSelector) items = items.filter(labelMatcher(query.labelSelector));
    if (query.fieldSelector) items = items.filter(fieldMatcher(query.fieldSelector, route.resource));
    const metadata: Obj = { resourceVersion: source.metadata.resourceVersion };
    const limit = query.limit === undefined ? undefined : Number(query.limit);
    if (limit !== undefined && limit > 0 && items.length > limit) {
      metadata.continue = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: Number(source.metadata.resourceVersion), start: items[limit]!.metadata.name })).toString('base64');
      metadata.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    json(res, 200, { kind: source.kind, apiVersion: source.apiVersion, metadata, items });
  }

  private serveLog(route: Route, pod: Obj, query: Record<string, string>, res: ServerResponse): void {
    const containers: string[] = pod.spec.containers.map((c: Obj) => c.name);
    const container = query.container ?? (containers.length === 1 ? containers[0] : undefined);
    if (container === undefined) {
      return status(res, 400, 'BadRequest', `a container name must be specified for pod ${route.name}, choose one of: [${containers.join(' ')}]`);
    }
    if (!containers.includes(container)) return status(res, 400, 'BadRequest', `container ${container} is not valid for pod ${route.name}`);
    const previous = query.previous === 'true';
    const text = this.cluster.logs[`${route.namespace}/${route.name}/${container}${previous ? '/previous' : ''}`];
    if (text === undefined) {
      return status(res, 400, 'BadRequest', previous ? `previous terminated container "${container}" in pod "${route.name}" not found` : `container "${container}" in pod "${route.name}" is waiting to start: ContainerCreating`);
    }
    let out = text;
    if (query.tailLines !== undefined) {
      const lines = out.split('\n');
      if (lines.at(-1) === '') lines.pop();
      out = lines.slice(-Number(query.tailLines)).map((l) => `${l}\n`).join('');
    }
    let body = Buffer.from(out);
    if (query.limitBytes !== undefined) body = body.subarray(0, Number(query.limitBytes));
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  }
}

interface Route {
  group: string;
  resource: string;
  namespace?: string;
  name?: string;
}

/** /api/v1/nodes, /api/v1/namespaces/<ns>/<resource>[/<name>[/log]], /apis/apps/v1/namespaces/<ns>/<resource>[/<name>]. */
function parsePath(path: string): Route | undefined {
  const parts = path.split('/').filter((p) => p !== '');
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') [group, rest] = ['', parts.slice(2)];
  else if (parts[0] === 'apis' && parts[1] === 'apps' && parts[2] === 'v1') [group, rest] = ['apps', parts.slice(3)];
  else return undefined;
  if (group === '' && rest[0] === 'nodes' && rest.length <= 2) return { group, resource: 'nodes', ...(rest[1] ? { name: rest[1] } : {}) };
  if (rest[0] !== 'namespaces' || rest.length < 3) return undefined;
  const [, namespace, resource, name, sub] = rest as [string, string, string, string | undefined, string | undefined];
  if (!(NAMESPACED as readonly string[]).includes(resource)) return undefined;
  if ((group === 'apps') !== ['deployments', 'statefulsets', 'replicasets'].includes(resource)) return undefined;
  if (sub !== undefined && !(resource === 'pods' && sub === 'log')) return undefined;
  return { group, resource: sub === 'log' ? 'pods/log' : resource, namespace, ...(name === undefined ? {} : { name }) };
}

function emptyList(route: Route): ListFixture {
  const kinds: Record<string, string> = {
    pods: 'PodList', events: 'EventList', persistentvolumeclaims: 'PersistentVolumeClaimList', deployments: 'DeploymentList', statefulsets: 'StatefulSetList', replicasets: 'ReplicaSetList', 'pods/log': 'PodList',
  };
  return { kind: kinds[route.resource]!, apiVersion: route.group === '' ? 'v1' : `${route.group}/v1`, metadata: { resourceVersion: '1' }, items: [] };
}

function splitSelector(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim() !== '') parts.push(current.trim());
  return parts;
}

function labelMatcher(selector: string): (item: Obj) => boolean {
  const tests = splitSelector(selector).map((term) => {
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m) {
      const [, key, op, values] = m;
      const set = values!.split(',').map((v) => v.trim());
      return (labels: Obj) => (op === 'in' ? set.includes(labels[key!]) : !set.includes(labels[key!]));
    }
    m = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (m) {
      const [, key, op, value] = m;
      return (labels: Obj) => (op === '!=' ? labels[key!] !== value : labels[key!] === value);
    }
    if (term.startsWith('!')) return (labels: Obj) => !(term.slice(1) in labels);
    if (/^[\w./-]+$/.test(term)) return (labels: Obj) => term in labels;
    throw new Error(`unable to parse requirement: ${term}`);
  });
  return (item) => tests.every((t) => t(item.metadata.labels ?? {}));
}

const FIELDS: Record<string, string[]> = {
  events: ['metadata.name', 'metadata.namespace', 'type', 'reason', 'source', 'involvedObject.kind', 'involvedObject.name', 'involvedObject.namespace', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath'],
  pods: ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
};

function fieldMatcher(selector: string, resource: string): (item: Obj) => boolean {
  const allowed = FIELDS[resource] ?? ['metadata.name', 'metadata.namespace'];
  const tests = splitSelector(selector).map((term) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw new Error(`invalid field selector: ${term}`);
    const [, field, op, value] = m;
    if (!allowed.includes(field!)) throw new Error(`field label not supported: ${field}`);
    return (item: Obj) => {
      const actual = field!.split('.').reduce<any>((o, k) => (o === undefined || o === null ? undefined : o[k]), item) ?? '';
      return op === '!=' ? String(actual) !== value : String(actual) === value;
    };
  });
  return (item) => tests.every((t) => t(item));
}

function json(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function status(res: ServerResponse, code: number, reason: string, message: string, details?: Obj): void {
  json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code });
}
