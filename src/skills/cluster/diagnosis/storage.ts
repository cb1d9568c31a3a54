// Storage: claims that are not bound, and why.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { eventCount, podCondition, podStatusText } from '../objects.js';
import type { DiagnosisFinding } from './finding.js';
import { eventsFor } from './observed.js';
import type { Observed } from './observed.js';

export function claimsToReport(observed: Observed): V1PersistentVolumeClaim[] {
  return observed.pvcs.filter((c) => c.status?.phase !== 'Bound');
}

export function analyzeClaim(claim: V1PersistentVolumeClaim, observed: Observed): DiagnosisFinding[] {
  const name = claim.metadata?.name ?? '';
  const object = `PersistentVolumeClaim/${name}`;
  const events = eventsFor(observed, 'PersistentVolumeClaim', name, claim.metadata?.uid);
  const consumers = observed.pods.filter((p) => (p.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === name));
  const phase = claim.status?.phase ?? 'Pending';
  const storageClass = claim.spec?.storageClassName;
  const evidence = [
    `phase: ${phase}, storageClassName: ${storageClass ?? '(none: the default class, if any)'}, requested ${claim.spec?.resources?.requests?.storage ?? '?'}`,
    ...events.slice(0, 3).map((e) => `event ${e.reason} ×${eventCount(e)}: ${(e.message ?? '').trim()}`),
    ...(consumers.length > 0 ? [`used by: ${consumers.map((p) => `Pod/${p.metadata?.name} (${podStatusText(p)})`).join(', ')}`] : []),
  ];
  if (phase === 'Lost') {
    return [{ severity: 'critical', reason: 'ClaimLost', object, cause: `the PersistentVolume ${claim.spec?.volumeName ?? ''} behind the claim is gone.`, fix: 'Restore the volume from a backup or recreate the claim (its data is lost).', evidence }];
  }
  const latest = events[0];
  const message = (latest?.message ?? '').trim();
  if (latest?.reason === 'WaitForFirstConsumer' || /waiting for first consumer/i.test(message)) {
    const blocked = consumers.filter((p) => podCondition(p, 'PodScheduled')?.status === 'False');
    if (consumers.length > 0 && blocked.length === 0) return [];
    return [
      {
        severity: 'info',
        reason: 'WaitForFirstConsumer',
        object,
        cause:
          blocked.length > 0
            ? `the claim binds only once its pod is scheduled (volumeBindingMode WaitForFirstConsumer), and ${blocked.map((p) => p.metadata?.name).join(', ')} cannot be scheduled: the claim is a consequence, not the cause.`
            : 'the claim binds only once a pod using it is scheduled (volumeBindingMode WaitForFirstConsumer), and no pod uses it yet.',
        fix: blocked.length > 0 ? 'Fix the scheduling problem of the pod; the claim then binds by itself.' : 'Nothing to do until a pod uses it.',
        evidence,
      },
    ];
  }
  let cause: string;
  let fix: string;
  const missingClass = /storageclass(?:\.storage\.k8s\.io)? "([^"]+)" not found/i.exec(message);
  if (missingClass) {
    cause = `the claim asks for StorageClass ${missingClass[1]}, which does not exist, so no volume is provisioned`;
    fix = `Create StorageClass ${missingClass[1]}, or set storageClassName to one that exists (kubectl get storageclass). storageClassName cannot change on an existing claim: delete and recreate it (for a StatefulSet, fix volumeClaimTemplates, then delete the claim and its pod).`;
  } else if (/no persistent volumes available for this claim and no storage class is set/i.test(message)) {
    cause = 'the claim names no StorageClass, the cluster has no default one, and no PersistentVolume matches it';
    fix = 'Set storageClassName to an existing class, mark a StorageClass as default (storageclass.kubernetes.io/is-default-class: "true"), or create a matching PersistentVolume.';
  } else if (latest?.reason === 'ExternalProvisioning' || /external provisioner/i.test(message)) {
    const provisioner = /provisioner "([^"]+)"/.exec(message)?.[1];
    cause = `the claim waits for the external provisioner${provisioner ? ` ${provisioner}` : ''} to create a volume, and none has been created`;
    fix = `Check that the CSI driver${provisioner ? ` ${provisioner}` : ''} controller is running and read its log (quota, permissions, unsupported parameters).`;
  } else if (latest?.reason === 'ProvisioningFailed') {
    cause = `provisioning a volume failed: ${message}`;
    fix = 'Fix what the provisioner reports (quota, parameters of the StorageClass, cloud permissions) and it retries by itself.';
  } else if (message !== '') {
    cause = `the claim is ${phase}: ${message}`;
    fix = 'Read the event in the evidence; check the StorageClass and its provisioner.';
  } else {
    cause = `the claim is ${phase} and no event says why (events expire after an hour by default)`;
    fix = `Check its StorageClass ${storageClass ?? '(default)'} exists and its provisioner runs: kubectl describe pvc -n ${claim.metadata?.namespace} ${name}.`;
  }
  return [{ severity: consumers.length > 0 ? 'critical' : 'warning', reason: 'ClaimPending', object, cause: `${cause}.`, fix, evidence }];
}
