// A small application that every rule passes, and helpers to break it one
// field at a time: each rule test starts from objects known to be clean, so a
// finding can only come from the edit.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manifestValues } from '../../../src/skills/manifest-review/parse.js';
import { reviewManifests } from '../../../src/skills/manifest-review/review.js';
import type { ReviewFinding, ReviewOptions, ReviewResult } from '../../../src/skills/manifest-review/rules.js';
import type { Artifact, Task } from '../../../src/model/model.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const KUBERNETES_DIR = join(REPO_ROOT, 'kubernetes');

export type Loose = Record<string, any>;

const hardened = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
};

const podSecurity = { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } };

const resources = { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } };

function servingContainer(name: string, image: string): Loose {
  return {
    name,
    image,
    ports: [{ name: 'http', containerPort: 8080 }],
    readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
    livenessProbe: { httpGet: { path: '/live', port: 'http' } },
    resources: structuredClone(resources),
    securityContext: structuredClone(hardened),
  };
}

/** Deployment web (3 replicas, autoscaled 3..6), its Service, PDB and HPA; StatefulSet db with its headless Service; CronJob backup. */
export function cleanApp(): Loose[] {
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web', tier: 'front' } },
          spec: {
            securityContext: structuredClone(podSecurity),
            initContainers: [
              {
                name: 'migrate',
                image: 'registry.example.com:5000/shop/migrate:2.1.0',
                resources: structuredClone(resources),
                securityContext: structuredClone(hardened),
              },
            ],
            containers: [servingContainer('web', 'registry.example.com:5000/shop/web:2.1.0')],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } },
    },
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 3,
        maxReplicas: 6,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'shop' },
      spec: {
        replicas: 2,
        serviceName: 'db-headless',
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: {
            securityContext: structuredClone(podSecurity),
            containers: [servingContainer('db', 'docker.io/library/postgres@sha256:' + 'a'.repeat(64))],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'db-headless', namespace: 'shop' },
      spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'http', port: 8080, targetPort: 'http' }] },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'backup', namespace: 'shop' },
      spec: {
        schedule: '0 3 * * *',
        jobTemplate: {
          spec: {
            template: {
              spec: {
                restartPolicy: 'OnFailure',
                securityContext: structuredClone(podSecurity),
                containers: [{ name: 'backup', image: 'ghcr.io/example/backup:1.0.0', resources: structuredClone(resources), securityContext: structuredClone(hardened) }],
              },
            },
          },
        },
      },
    },
  ];
}

/** The object of a kind and name in a list (to edit it in place). */
export function pick(objects: Loose[], kind: string, name: string): Loose {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (found === undefined) throw new Error(`no ${kind}/${name}`);
  return found;
}

export function review(objects: unknown[], options: ReviewOptions = {}): Promise<ReviewResult> {
  return reviewManifests(manifestValues(objects, 'test input'), options);
}

/** severity, rule, object and path of each finding: what the rule tests compare. */
export function brief(findings: readonly ReviewFinding[]): [string, string, string, string][] {
  return findings.map((f) => [f.severity, f.rule, f.object, f.path]);
}

export function findingsArtifact(task: Task): { findings: ReviewFinding[]; summary: Record<string, number> } {
  const artifact = artifactById(task, 'manifest-review-findings');
  const part = artifact.parts[0]!;
  if (part.kind !== 'data' || part.mediaType !== 'application/json') throw new Error(`findings artifact is not a JSON data part: ${JSON.stringify(part)}`);
  return part.data as unknown as { findings: ReviewFinding[]; summary: Record<string, number> };
}

export function reportArtifact(task: Task): string {
  const part = artifactById(task, 'manifest-review-report').parts[0]!;
  if (part.kind !== 'text' || part.mediaType !== 'text/markdown') throw new Error(`report artifact is not Markdown text: ${JSON.stringify(part)}`);
  return part.text;
}

function artifactById(task: Task, id: string): Artifact {
  const artifact = task.artifacts.find((a) => a.artifactId === id);
  if (artifact === undefined) throw new Error(`task ${task.status.state} has no artifact ${id}: ${JSON.stringify(task.status.message)}`);
  return artifact;
}

/** The text of the task's status message. */
export function statusText(task: Task): string {
  return (task.status.message?.parts ?? []).map((p) => (p.kind === 'text' ? p.text : '')).join('');
}

/** Is a process alive (a zombie awaiting its reaper counts as gone)? */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}
