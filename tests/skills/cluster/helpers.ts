import assert from 'node:assert/strict';
import type { JsonObject, Message, Part, Task } from '../../../src/model/model.js';
import { clusterSkills } from '../../../src/skills/cluster/index.js';
import type { ClusterSkillsOptions } from '../../../src/skills/cluster/index.js';
import { SkillHarness } from '../../support/skill-harness.js';
import type { Cluster } from './fake-api.js';
import { FakeApiServer, loadCluster } from './fake-api.js';

export interface Finding {
  severity: string;
  reason: string;
  object: string;
  cause: string;
  fix: string;
  evidence: string[];
}

/** The fake API server and both cluster skills, run through the real TaskService. */
export class ClusterRig {
  private constructor(
    readonly api: FakeApiServer,
    readonly harness: SkillHarness,
  ) {}

  static async start(options: { cluster?: Cluster; skills?: Partial<ClusterSkillsOptions> } = {}): Promise<ClusterRig> {
    const api = await FakeApiServer.start(options.cluster ?? loadCluster());
    const harness = await SkillHarness.start(clusterSkills({ kubeConfig: api.kubeConfig(), ...options.skills }));
    return new ClusterRig(api, harness);
  }

  /** Sends to one skill and returns the task once it ends or asks for input. */
  async run(skill: 'cluster-inspect' | 'cluster-diagnose', input: string | Part[], extra: Partial<Message> = {}): Promise<Task> {
    const result = await this.harness.send(input, { ...extra, metadata: { skill, ...extra.metadata } });
    return this.harness.task(result);
  }

  async close(): Promise<void> {
    await this.harness.close();
    await this.api.close();
  }
}

export function statusText(task: Task): string {
  return (task.status.message?.parts ?? []).map((p) => (p.kind === 'text' ? p.text : '')).join('');
}

/** The JSON of the data artifact; asserts the artifact and part are what the skills promise. */
export function dataOf(task: Task): JsonObject {
  assert.equal(task.status.state, 'completed', `task ${task.status.state}: ${statusText(task)}`);
  const artifact = task.artifacts.find((a) => a.artifactId.endsWith('-data'));
  assert.ok(artifact, `no data artifact among ${task.artifacts.map((a) => a.artifactId).join(', ')}`);
  const [part] = artifact.parts;
  assert.equal(part?.kind, 'data');
  assert.equal(part.mediaType, 'application/json');
  return (part as { data: JsonObject }).data;
}

export function markdownOf(task: Task): string {
  const artifact = task.artifacts.find((a) => a.artifactId.endsWith('-report'));
  assert.ok(artifact, 'no report artifact');
  const [part] = artifact.parts;
  assert.equal(part?.kind, 'text');
  assert.equal(part.mediaType, 'text/markdown');
  return (part as { text: string }).text;
}

export function findingsOf(task: Task): Finding[] {
  return dataOf(task).findings as unknown as Finding[];
}

/** The one finding about this object with this reason. */
export function finding(findings: Finding[], object: string, reason: string): Finding {
  const found = findings.filter((f) => f.object === object && f.reason === reason);
  assert.equal(found.length, 1, `expected one ${reason} finding for ${object}; findings: ${findings.map((f) => `${f.object} ${f.reason}`).join('; ')}`);
  return found[0]!;
}

export { loadCluster };
