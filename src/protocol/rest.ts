import type { Operation } from './methods.js';
import { errorDetails, wireCodes } from './errors.js';
import type { WireError } from './errors.js';

// The HTTP+JSON binding of A2A 1.0 (spec 11): which route is which operation,
// and the google.rpc.Status body of its errors. Every route is served at the
// service root and under one leading `/{tenant}` segment.

/** A request path matched to its operation. Ids are percent-decoded; they are data, never part of a route. */
export interface RestRoute {
  operation: Operation;
  taskId?: string;
  configId?: string;
  /** The leading tenant segment, when the path has one. */
  tenant?: string;
}

export type RouteMatch =
  | { kind: 'route'; route: RestRoute }
  /** The path is an A2A route, but not for this method: `allow` lists those it takes. */
  | { kind: 'method-not-allowed'; allow: string }
  | { kind: 'none' };

type MethodTable = Readonly<Record<string, Operation>>;

/** The operations of a path without its tenant, by HTTP method; undefined when it is no route. */
function routeOf(segments: readonly string[]): { methods: MethodTable; taskId?: string; configId?: string } | undefined {
  const [first, second, third, fourth, ...rest] = segments;
  if (rest.length > 0) return undefined;
  if (second === undefined) {
    switch (first) {
      case 'message:send':
        return { methods: { POST: 'send' } };
      case 'message:stream':
        return { methods: { POST: 'stream' } };
      case 'tasks':
        return { methods: { GET: 'list' } };
      case 'extendedAgentCard':
        return { methods: { GET: 'extended-card' } };
      default:
        return undefined;
    }
  }
  if (first !== 'tasks' || second === '') return undefined;
  // Task ids never contain ':' (ours do not, and `:verb` follows the id), so the first ':' ends the id.
  const colon = second.indexOf(':');
  const taskId = colon < 0 ? second : second.slice(0, colon);
  if (taskId === '') return undefined;
  if (colon >= 0) {
    if (third !== undefined) return undefined;
    switch (second.slice(colon + 1)) {
      case 'cancel':
        return { methods: { POST: 'cancel' }, taskId };
      // The spec's text says POST, its proto GET; clients of both exist.
      case 'subscribe':
        return { methods: { GET: 'subscribe', POST: 'subscribe' }, taskId };
      default:
        return undefined;
    }
  }
  if (third === undefined) return { methods: { GET: 'get' }, taskId };
  if (third !== 'pushNotificationConfigs') return undefined;
  if (fourth === undefined) return { methods: { POST: 'push-config-create', GET: 'push-config-list' }, taskId };
  if (fourth === '' || fourth.includes(':')) return undefined;
  return { methods: { GET: 'push-config-get', DELETE: 'push-config-delete' }, taskId, configId: fourth };
}

/** The path's segments, percent-decoded; undefined for a path that is not a clean one (empty segments, bad escapes). */
function segmentsOf(path: string): string[] | undefined {
  if (!path.startsWith('/')) return undefined;
  const raw = path.slice(1).split('/');
  // Decoded one by one, after splitting: an escaped slash (%2F) stays inside its segment, as data.
  const decoded: string[] = [];
  for (const segment of raw) {
    if (segment === '') return undefined;
    try {
      decoded.push(decodeURIComponent(segment));
    } catch {
      return undefined;
    }
  }
  return decoded;
}

/**
 * The route a method and path (without its query) name. The route's own
 * words are matched before decoding, so that an escaped ':' or '/' inside an
 * id is never read as a verb or a separator.
 */
export function matchRestRoute(method: string, path: string): RouteMatch {
  const raw = path.startsWith('/') ? path.slice(1).split('/') : [];
  const decoded = segmentsOf(path);
  if (decoded === undefined) return { kind: 'none' };
  const at = (offset: number, tenant?: string): RouteMatch | undefined => {
    const shape = routeOf(raw.slice(offset));
    if (shape === undefined) return undefined;
    const operation = shape.methods[method];
    if (operation === undefined) return { kind: 'method-not-allowed', allow: Object.keys(shape.methods).join(', ') };
    // The ids the route names, percent-decoded.
    const route: RestRoute = { operation };
    if (shape.taskId !== undefined) route.taskId = decodeURIComponent(shape.taskId);
    if (shape.configId !== undefined) route.configId = decodeURIComponent(shape.configId);
    if (tenant !== undefined) route.tenant = tenant;
    return { kind: 'route', route };
  };
  return at(0) ?? (decoded.length > 1 ? at(1, decoded[0]) : undefined) ?? { kind: 'none' };
}

/** The google.rpc.Status JSON of an error (AIP-193): the HTTP status as its code, the gRPC status name, the message and the details. */
export function restErrorBody(wire: WireError): string {
  const row = wireCodes(wire.reason);
  return JSON.stringify({
    error: {
      code: wire.httpStatus,
      status: row?.grpc ?? 'INTERNAL',
      message: wire.message,
      details: errorDetails(wire),
    },
  });
}
