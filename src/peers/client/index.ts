// The A2A client's public API: `import { A2AClient } from 'kagent-a2a/client'`.

export { A2AClient, CARD_PATHS } from './client.js';
export type { CallOptions, ClientOptions, ConnectOptions, GetTaskOptions, SendOptions, StreamOptions, StreamSendOptions } from './client.js';
export { cardInterfaces, chooseInterface, summarizeCard } from './card.js';
export type { AgentCardSummary, AgentInterface, Binding, EndpointRule, InterfaceChoice, ProtocolVersion } from './card.js';
export { A2AClientError, A2ATimeoutError, TaskNotFoundError } from './errors.js';
export type { ClientErrorDetails, ClientErrorKind, TimeoutLimit } from './errors.js';
export { DEFAULT_RETRY, NO_RETRY, backoffDelay, isRetryable, parseRetryAfter } from './retry.js';
export type { RetryEvent, RetryPolicy } from './retry.js';
export type { ListTasksParams, SendParams } from './protocol.js';
export { SseParser, readSse } from './sse.js';
export type { SseItem } from './sse.js';
export { sharedDispatcher } from './http.js';
export { userText } from './messages.js';
export type {
  Artifact,
  ArtifactUpdateEvent,
  JsonObject,
  JsonValue,
  Message,
  Part,
  Role,
  SendResult,
  StatusUpdateEvent,
  StreamItem,
  Task,
  TaskPage,
  TaskState,
  TaskStatus,
} from '../../model/model.js';
