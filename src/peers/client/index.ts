// The A2A client's public API: `import { A2AClient } from 'kagent-a2a/client'`.
//
//   const agent = await A2AClient.connect('http://kagent-0.kagent-headless:8080');
//   const result = await agent.send(userText('hello', { metadata: { skill: 'echo' } }), { deadlineMs: 10_000 });
//
// Requests go to the endpoint path the card advertises on the origin given to
// connect() (so localhost, port-forwards and proxies work); `endpoint: 'card'`
// uses the card's URL as advertised, host and port included.
//
// Version and binding come from the agent card (1.0 JSON-RPC, else 1.0
// HTTP+JSON, else 0.3 JSON-RPC) unless forced with `protocolVersion` or
// `bindings`. Failures are A2AClientError; switch on `kind` ('rpc', 'http',
// 'connection', 'timeout', 'aborted', 'invalid-response', 'unsupported', 'untrusted-card') or
// test `instanceof TaskNotFoundError` / `A2ATimeoutError`. Retries follow
// `isRetryable` (network errors, attempt timeouts, 5xx, 429, -32050; never a
// 4xx or a request error) with the backoff of the RetryPolicy, honouring
// Retry-After; a stream is retried only until it has begun. With
// `trustedCardKey`, connect() refuses a card not signed by that key
// ('untrusted-card'); `verifyCardSignature` checks a card already in hand.

export { A2AClient, CARD_PATHS } from './client.js';
export { agentBaseUrl } from './agent-url.js';
export type { CallEnded, CallMethod, CallOptions, ClientOptions, ConnectOptions, GetTaskOptions, SendOptions, StreamOptions, StreamSendOptions } from './client.js';
export { cardInterfaces, chooseInterface, summarizeCard } from './card.js';
export type { AgentCardSummary, AgentInterface, Binding, EndpointRule, InterfaceChoice, ProtocolVersion } from './card.js';
export { verifyCardSignature } from './card-signature.js';
export type { TrustedCardKey } from './card-signature.js';
export { A2AClientError, A2ATimeoutError, TaskNotFoundError } from './errors.js';
export type { ClientErrorDetails, ClientErrorKind, TimeoutLimit } from './errors.js';
export { DEFAULT_RETRY, NO_RETRY, backoffDelay, isRetryable, parseRetryAfter } from './retry.js';
export type { RetryEvent, RetryPolicy } from './retry.js';
export type { ListTasksParams, SendParams } from './protocol.js';
export { SseParser, readSse } from '../../protocol/sse.js';
export type { SseItem } from '../../protocol/sse.js';
export { sharedDispatcher } from './http.js';
export { userText } from './messages.js';
export type { UserTextOptions } from './messages.js';
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
