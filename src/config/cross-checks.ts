import type { Config } from './load.js';
import { ConfigError } from './load.js';

// Rules that tie one setting to another. Each setting is checked alone while
// it is parsed; these run on the whole set, at start and on every reload, so a
// live change can never leave the agent in a combination a start would refuse.

function perPodReplicas(config: Config): boolean {
  return config.A2A_POD_URL_TEMPLATE !== undefined || (config.POD_NAMESPACE !== undefined && config.POD_NAME !== undefined);
}

export function checkSettingsTogether(config: Config): void {
  if (config.READY_REQUIRES_VAPORA && config.VAPORA_URL === undefined) {
    throw new ConfigError('READY_REQUIRES_VAPORA', 'settings', 'is true but VAPORA_URL is not set');
  }
  if (config.A2A_REPLICAS !== undefined && config.A2A_POD_URL_TEMPLATE === undefined && config.POD_NAMESPACE === undefined) {
    throw new ConfigError('A2A_REPLICAS', 'settings', 'outside Kubernetes it needs A2A_POD_URL_TEMPLATE to know where the replicas are');
  }
  if (config.HEADERS_TIMEOUT > config.REQUEST_TIMEOUT) {
    throw new ConfigError(
      'HEADERS_TIMEOUT',
      'settings',
      `(${config.HEADERS_TIMEOUT} ms) must not exceed REQUEST_TIMEOUT (${config.REQUEST_TIMEOUT} ms): the headers are part of the request`,
    );
  }
  if (config.GRPC_PORT !== 0 && config.GRPC_PORT === config.PORT) {
    throw new ConfigError('GRPC_PORT', 'settings', `(${config.GRPC_PORT}) must differ from PORT: gRPC has a port of its own (0 turns it off)`);
  }
  if (config.PUSH_SIGN_DELIVERIES && config.CARD_SIGNING_KEY_FILE === undefined) {
    throw new ConfigError('PUSH_SIGN_DELIVERIES', 'settings', 'is true but CARD_SIGNING_KEY_FILE is not set: deliveries are signed with that key');
  }
  if (config.PUSH_RETRY_BASE > config.PUSH_RETRY_MAX) {
    throw new ConfigError('PUSH_RETRY_BASE', 'settings', `(${config.PUSH_RETRY_BASE} ms) must not exceed PUSH_RETRY_MAX (${config.PUSH_RETRY_MAX} ms)`);
  }
  if (config.STORE === 'postgres' && config.DATABASE_URL === undefined && config.DATABASE_URL_FILE === undefined) {
    throw new ConfigError('DATABASE_URL', 'settings', 'STORE=postgres needs DATABASE_URL or DATABASE_URL_FILE');
  }
  if (config.LLM_URL !== undefined && config.LLM_MODEL === undefined) {
    throw new ConfigError('LLM_MODEL', 'settings', 'is required when LLM_URL is set: the assistant needs a model name');
  }
  if (config.AUTH_MODE !== 'none' && config.STORE === 'sqlite' && perPodReplicas(config) && config.A2A_REPLICAS !== 1 && config.AUTH_CLUSTER_SECRET_FILE === undefined) {
    throw new ConfigError(
      'AUTH_CLUSTER_SECRET_FILE',
      'settings',
      `AUTH_MODE=${config.AUTH_MODE} with per-pod stores needs a secret the replicas share, to relay a caller to the pod that owns its task`,
    );
  }
}
