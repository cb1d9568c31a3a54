// A push-notification config: where a task's events are posted, with what to
// prove the call comes from us. Version-free; codecs map each version's shape.

export interface PushAuthentication {
  /** An HTTP authentication scheme (Bearer, Basic, …): sent as `Authorization: <scheme> <credentials>`. */
  scheme: string;
  credentials?: string;
}

export interface PushConfig {
  id: string;
  url: string;
  /** Echoed to the receiver in the notification-token headers, so it can tell our calls apart. */
  token?: string;
  authentication?: PushAuthentication;
}

/** A config as a caller sends it: the id is ours to choose when it names none. */
export type PushConfigInput = Omit<PushConfig, 'id'> & { id?: string };

/** The config as callers may read it back: the credentials never leave the agent again. */
export function redacted(config: PushConfig): PushConfig {
  if (config.authentication?.credentials === undefined) return config;
  return { ...config, authentication: { scheme: config.authentication.scheme } };
}
