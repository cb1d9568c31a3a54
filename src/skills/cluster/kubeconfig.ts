import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

/** Where the kubelet mounts a pod's service account token. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The cluster skills cannot reach a cluster with these settings; `setting` names the one to change. */
export class KubeConfigError extends Error {
  constructor(
    readonly setting: 'KUBECONFIG' | 'KUBERNETES_SKILLS',
    /** What is wrong, without the setting's name. */
    readonly detail: string,
  ) {
    super(`${setting}: ${detail}`);
    this.name = 'KubeConfigError';
  }
}

export interface KubeConfigOptions {
  /** The KUBECONFIG setting: one file, or several joined by the path delimiter (the first one's context is used). */
  kubeconfig?: string | undefined;
  /** Prefix for the service account files; tests point it at a directory of their own. */
  serviceAccountPathPrefix?: string;
}

/**
 * The KubeConfig the cluster skills use. In a pod (KUBERNETES_SERVICE_HOST is
 * set) it is the pod's service account; the token is re-read from its file on
 * every request, so rotated projected tokens keep working. Outside a cluster
 * it is the KUBECONFIG setting, else ~/.kube/config. Never the client
 * library's last resort, http://localhost:8080: no configuration is an error
 * naming the setting to fix.
 */
export function loadKubeConfig(options: KubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  if (process.env.KUBERNETES_SERVICE_HOST) {
    const prefix = options.serviceAccountPathPrefix ?? '';
    const token = `${prefix}${SERVICE_ACCOUNT_DIR}/token`;
    if (!existsSync(token)) {
      throw new KubeConfigError(
        'KUBERNETES_SKILLS',
        `running in a pod but no service account token is mounted at ${token}; ` +
          'deploy with the cluster-skills component (kubernetes/kagent/components/cluster-skills), which mounts it and grants read access',
      );
    }
    kc.loadFromCluster(prefix);
    return kc;
  }
  const files = (options.kubeconfig ?? '').split(delimiter).filter((file) => file !== '');
  if (files.length === 0) {
    const fallback = join(homedir(), '.kube', 'config');
    if (!existsSync(fallback)) {
      throw new KubeConfigError('KUBECONFIG', `not running in a pod (KUBERNETES_SERVICE_HOST is unset), KUBECONFIG is not set and ${fallback} does not exist`);
    }
    files.push(fallback);
  }
  for (const [index, file] of files.entries()) {
    if (!existsSync(file)) throw new KubeConfigError('KUBECONFIG', `${file} does not exist`);
    try {
      if (index === 0) kc.loadFromFile(file);
      else {
        const more = new KubeConfig();
        more.loadFromFile(file);
        kc.mergeConfig(more, true);
      }
    } catch (error) {
      throw new KubeConfigError('KUBECONFIG', `${file} is not a usable kubeconfig: ${(error as Error).message}`);
    }
  }
  if (kc.getCurrentCluster() === null) {
    throw new KubeConfigError('KUBECONFIG', `${files.join(delimiter)} has no current context with a cluster (current-context: "${kc.getCurrentContext()}")`);
  }
  return kc;
}
