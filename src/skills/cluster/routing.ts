import type { Message } from '../../model/model.js';

// Kept apart from the skills: the agent routes with it without loading the Kubernetes client.

const DIAGNOSE_WORDS = /^\s*(diagnose|why|troubleshoot|debug|check)\b/i;
const INSPECT_WORDS = /^\s*(list|ls|get|describe|show|inspect|logs?|rollout|status)\b/i;
const CLUSTER_WORDS =
  /\b(pods?|po|deployments?|deploy|statefulsets?|sts|replicasets?|rs|events?|pvcs?|persistentvolumeclaims?|nodes?|namespace|logs?)\b|(^|\s)(-n|--namespace)(\s|=)|\b[a-z]+\/[a-z0-9]/i;

/**
 * Which cluster skill a message without metadata.skill is likely for: text
 * that starts with a diagnose or an inspect word and names a Kubernetes kind
 * or namespace, or a data part whose action says so. Undefined when it does
 * not look like a cluster request.
 */
export function clusterSkillFor(message: Message): 'cluster-inspect' | 'cluster-diagnose' | undefined {
  for (const part of message.parts) {
    if (part.kind === 'text' && CLUSTER_WORDS.test(part.text)) {
      if (DIAGNOSE_WORDS.test(part.text)) return 'cluster-diagnose';
      if (INSPECT_WORDS.test(part.text)) return 'cluster-inspect';
    }
    if (part.kind === 'data' && part.data !== null && typeof part.data === 'object' && !Array.isArray(part.data)) {
      const action = part.data.action;
      if (action === 'diagnose') return 'cluster-diagnose';
      if (typeof action === 'string' && ['list', 'describe', 'get', 'logs', 'rollout-status', 'rollout status'].includes(action)) return 'cluster-inspect';
    }
  }
  return undefined;
}
