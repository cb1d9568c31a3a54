// Rules every workload of every Kustomize target must keep, whatever its
// environment: sized, probed, non-root, read-only, no privilege, pinned image,
// and no API token where nothing grants it rights.
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { KubeObject } from './manifests.js';
import { containersOf, ofKind, quantity, workloads } from './manifests.js';

/** Is an image reference pinned: a tag other than latest, or a digest? */
export function pinnedImage(image: string | undefined): boolean {
  if (image === undefined || image === '') return false;
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  if (colon === -1) return false;
  const tag = lastSegment.slice(colon + 1);
  return tag !== '' && tag !== 'latest';
}

const RBAC_GRANTS = ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'];

/** Every breach of the rules among the objects, one line each; empty when all hold. */
export function policyViolations(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  const found = workloads(objects);
  if (found.length === 0) problems.push('no workloads rendered');
  const grants = objects.filter((o) => RBAC_GRANTS.includes(o.kind));

  for (const { object, spec } of found) {
    const owner = `${object.kind}/${object.metadata.name}`;
    const podSc = spec.securityContext ?? {};

    for (const container of containersOf(spec)) {
      const where = `${owner} container ${container.name}`;
      for (const resource of ['cpu', 'memory']) {
        const request = container.resources?.requests?.[resource];
        const limit = container.resources?.limits?.[resource];
        if (request === undefined) problems.push(`${where}: no ${resource} request`);
        if (limit === undefined) problems.push(`${where}: no ${resource} limit`);
        if (request !== undefined && limit !== undefined && quantity(request) > quantity(limit)) {
          problems.push(`${where}: ${resource} request ${request} above limit ${limit}`);
        }
      }

      const sc = container.securityContext ?? {};
      if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) problems.push(`${where}: runAsNonRoot is not true`);
      const uid = sc.runAsUser ?? podSc.runAsUser;
      if (uid === 0) problems.push(`${where}: runAsUser 0`);
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem is not true`);
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
      if (sc.privileged === true) problems.push(`${where}: privileged`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where}: capabilities do not drop ALL`);
      if ((sc.capabilities?.add ?? []).length > 0) problems.push(`${where}: adds capabilities ${sc.capabilities!.add!.join(', ')}`);
      if ((sc.seccompProfile ?? podSc.seccompProfile)?.type !== 'RuntimeDefault') problems.push(`${where}: seccompProfile is not RuntimeDefault`);
      if (!pinnedImage(container.image)) problems.push(`${where}: image ${container.image ?? '(none)'} is untagged or latest`);
    }

    // Init containers run to completion; only the serving ones are probed.
    for (const container of spec.containers) {
      const where = `${owner} container ${container.name}`;
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
        if (container[probe] === undefined) problems.push(`${where}: no ${probe}`);
      }
      const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
      const tmpVolume = spec.volumes?.find((v) => v.name === tmp?.name);
      if (tmp === undefined || tmpVolume?.emptyDir === undefined || tmp.readOnly === true) {
        problems.push(`${where}: no writable emptyDir at /tmp (the root filesystem is read-only)`);
      }
    }

    const account = spec.serviceAccountName ?? 'default';
    const serviceAccount = ofKind<IServiceAccount>(objects, 'ServiceAccount').find((sa) => sa.metadata?.name === account);
    if (serviceAccount === undefined) {
      problems.push(`${owner}: its ServiceAccount ${account} is not among the rendered objects`);
    } else if (grants.length === 0) {
      if ((spec.automountServiceAccountToken ?? serviceAccount.automountServiceAccountToken ?? true) !== false) {
        problems.push(`${owner}: mounts an API token although no Role grants anything`);
      }
      if (serviceAccount.automountServiceAccountToken !== false) {
        problems.push(`ServiceAccount/${account}: automountServiceAccountToken is not false although no Role grants anything`);
      }
    }
  }
  return problems;
}
