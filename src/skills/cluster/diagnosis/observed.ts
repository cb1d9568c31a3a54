// What the skill read from the API for one diagnosis, and the queries the
// diagnosers share over it.
import type { CoreV1Event, V1Deployment, V1Node, V1PersistentVolumeClaim, V1Pod, V1ReplicaSet, V1StatefulSet } from '@kubernetes/client-node';
import { byTimeDesc } from '../objects.js';

/** Everything the skill read for one diagnosis. */
export interface Observed {
  namespace: string;
  pods: V1Pod[];
  statefulSets: V1StatefulSet[];
  deployments: V1Deployment[];
  replicaSets: V1ReplicaSet[];
  /** Warning events of the namespace, plus every event of the claims that are not bound. */
  events: CoreV1Event[];
  pvcs: V1PersistentVolumeClaim[];
  /** Read only when a pod cannot be scheduled; a string says why they could not be read. */
  nodes?: V1Node[] | string;
  /** Last lines of a crashed container's previous run, by "pod/container"; a string error when unreadable. */
  logs: Map<string, { text: string } | { error: string }>;
  /** The workloads were read only as the context of a pod (its replica count), not to be diagnosed themselves. */
  workloadsAsContext?: boolean;
  /** What limited the reading (a list cut at its limit…), for the report. */
  notes: string[];
}

/** Events about one object, newest first. */
export function eventsFor(observed: Observed, kind: string, name: string, uid?: string): CoreV1Event[] {
  return observed.events
    .filter((e) => e.involvedObject.kind === kind && e.involvedObject.name === name && (uid === undefined || e.involvedObject.uid === undefined || e.involvedObject.uid === uid))
    .sort(byTimeDesc);
}
