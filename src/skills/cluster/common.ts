import type { Artifact, JsonObject, Part } from '../../model/model.js';
import type { SkillContext } from '../skill.js';
import type { ClusterReader } from './reader.js';
import { ClusterApiError } from './reader.js';
import type { ClusterRequest, Kind } from './request.js';
import { RequestError, describeTarget, resolveRequest } from './request.js';

/** The ClusterRoles of kubernetes/kagent/components/cluster-skills, named in permission errors. */
export const NAMESPACED_ROLE = 'kagent-cluster-skills';
export const NODES_ROLE = 'kagent-cluster-skills-nodes';

/** Thrown by a skill step that must stop the task and ask the user something. */
export class AskUser extends Error {
  override name = 'AskUser';
}

/** Reads the request of the current turn (with the earlier turns); a RequestError ends the task itself. */
export async function readRequest(ctx: SkillContext, examples: string[]): Promise<ClusterRequest | undefined> {
  try {
    return resolveRequest(ctx.history, ctx.message);
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    if (error.source === 'data') await ctx.reject(`Invalid request: ${error.message}.`);
    else await ctx.requireInput(`I could not read that request: ${error.message}. Try for example: ${examples.map((e) => `"${e}"`).join(', ')}.`);
    return undefined;
  }
}

/**
 * Ends the task for an error from a cluster read: a permission problem fails
 * naming the permission and the grant that gives it, a missing target asks
 * for the right name, anything else fails with the API server's words.
 */
export async function endWithError(ctx: SkillContext, error: unknown, request: ClusterRequest, reader: ClusterReader): Promise<void> {
  if (ctx.signal.aborted) return;
  if (error instanceof AskUser) {
    await ctx.requireInput(error.message);
    return;
  }
  if (error instanceof ClusterApiError) {
    if (error.kind === 'forbidden') {
      await ctx.fail(`${capitalize(error.message)}. Missing permission: ${error.permission}. ${grantHint(error)}`);
      return;
    }
    if (error.kind === 'not-found' && error.call.name !== undefined && error.call.namespace !== undefined && error.call.resource !== 'pods/log') {
      const candidates = await candidateNames(reader, request.kind, error.call.namespace, ctx.signal).catch(() => undefined);
      const kind = kindLabel(request.kind);
      await ctx.requireInput(
        `${kind} ${error.call.name} was not found in namespace ${error.call.namespace}. Which ${kind} did you mean?` +
          (candidates === undefined ? '' : candidates.length === 0 ? ` There is none in namespace ${error.call.namespace}.` : ` There are: ${candidates.join(', ')}.`),
      );
      return;
    }
    await ctx.fail(capitalize(error.message));
    return;
  }
  throw error;
}

function grantHint(error: ClusterApiError): string {
  if (error.call.namespace === undefined) {
    return `Bind the ClusterRole ${NODES_ROLE} to the agent's ServiceAccount with a ClusterRoleBinding (kubernetes/kagent/components/cluster-skills does).`;
  }
  return (
    `Grant it with a RoleBinding in namespace ${error.call.namespace} to the ClusterRole ${NAMESPACED_ROLE} for the agent's ServiceAccount ` +
    `(kubernetes/kagent/components/cluster-skills binds it in the agent's own namespace).`
  );
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function kindLabel(kind: Kind | undefined): string {
  switch (kind) {
    case 'pvc':
      return 'persistentvolumeclaim';
    case undefined:
      return 'object';
    default:
      return kind;
  }
}

/** Names of the objects of a kind in a namespace, to offer when asking which one. */
export async function candidateNames(reader: ClusterReader, kind: Kind | undefined, namespace: string, signal: AbortSignal): Promise<string[] | undefined> {
  const limit = { limit: 20 };
  let items: { metadata?: { name?: string } }[];
  switch (kind) {
    case 'pod':
      items = (await reader.listPods(namespace, signal, limit)).items;
      break;
    case 'deployment':
      items = (await reader.listDeployments(namespace, signal, limit)).items;
      break;
    case 'statefulset':
      items = (await reader.listStatefulSets(namespace, signal, limit)).items;
      break;
    case 'pvc':
      items = (await reader.listPersistentVolumeClaims(namespace, signal, limit)).items;
      break;
    default:
      return undefined;
  }
  return items.map((i) => i.metadata?.name ?? '').filter((n) => n !== '');
}

/** Asks which object, offering the names that exist. */
export async function askWhich(reader: ClusterReader, request: ClusterRequest, namespace: string, signal: AbortSignal, verb: string): Promise<AskUser> {
  const kind = kindLabel(request.kind);
  const names = await candidateNames(reader, request.kind, namespace, signal).catch((error: unknown) => {
    if (signal.aborted) throw error;
    return undefined;
  });
  const offer = names === undefined ? '' : names.length === 0 ? ` There is no ${kind} in namespace ${namespace}.` : ` In namespace ${namespace} there are: ${names.join(', ')}.`;
  return new AskUser(`Which ${kind} should I ${verb}?${offer}`);
}

export function dataPart(data: JsonObject): Part {
  return { kind: 'data', data, mediaType: 'application/json' };
}

export function markdownPart(text: string): Part {
  return { kind: 'text', text, mediaType: 'text/markdown' };
}

/** The two artifacts every cluster skill returns: the data, and the same as a Markdown report. */
export async function emit(ctx: SkillContext, id: string, name: string, data: JsonObject, markdown: string): Promise<void> {
  const artifacts: Artifact[] = [
    { artifactId: `${id}-data`, name: `${name} (data)`, parts: [dataPart(data)] },
    { artifactId: `${id}-report`, name: `${name} (report)`, parts: [markdownPart(markdown)] },
  ];
  for (const artifact of artifacts) await ctx.artifact(artifact, { lastChunk: true });
}

export function targetData(request: ClusterRequest): JsonObject {
  return {
    namespace: request.namespace ?? null,
    kind: request.kind ?? null,
    name: request.name ?? null,
    description: describeTarget(request),
  };
}
