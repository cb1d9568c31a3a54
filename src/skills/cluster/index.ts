import type { KubeConfig } from '@kubernetes/client-node';
import type { Skill } from '../skill.js';
import { clusterDiagnoseSkill } from './diagnose.js';
import { clusterInspectSkill } from './inspect.js';
import { ClusterReader } from './reader.js';

export { API_PERMISSIONS, permissionKeys } from './permissions.js';
export type { ApiPermission } from './permissions.js';
export { KubeConfigError, loadKubeConfig } from './kubeconfig.js';
export { ClusterReader } from './reader.js';
export { clusterDiagnoseSkill } from './diagnose.js';
export { clusterInspectSkill } from './inspect.js';
export { clusterSkillFor } from './routing.js';

export interface ClusterSkillsOptions {
  /** The cluster: a KubeConfig, or a function returning one on first use (see loadKubeConfig). */
  kubeConfig: KubeConfig | (() => KubeConfig);
  /** Longest wait for one API response (default 30 s). */
  requestTimeoutMs?: number;
  /** Most items one list request returns (default 500). */
  listLimit?: number;
}

/** cluster-inspect and cluster-diagnose over one reader of one cluster. */
export function clusterSkills(options: ClusterSkillsOptions): [Skill, Skill] {
  const reader = new ClusterReader(options);
  return [clusterInspectSkill({ reader }), clusterDiagnoseSkill({ reader })];
}
