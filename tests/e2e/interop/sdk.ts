// The official A2A SDK (@a2a-js/sdk) as an independent client of our server.
// Two flavours of the same SDK client: its native A2A 1.0 transport, and its
// 0.3 compatibility transport (legacyCompat), which speaks message/send,
// tasks/get … with `A2A-Version: 0.3`.

import assert from 'node:assert/strict';
import {
  GetTaskRequest,
  Message,
  SendMessageRequest,
  Task,
  TaskState,
  taskStateToJSON,
} from '@a2a-js/sdk';
import type { Part, StreamResponse } from '@a2a-js/sdk';
import { Client, ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory, RestTransportFactory } from '@a2a-js/sdk/client';
import type { RequestOptions } from '@a2a-js/sdk/client';
import { isJsonRpcError } from '@a2a-js/sdk/errors';
import { PATIENCE_MS } from '../../support/patience.js';
import { readAll, waitFor } from '../../support/wait.js';

export type Flavour = '1.0' | '0.3';

/** What the SDK put on the wire for one JSON-RPC call. */
export interface SentCall {
  url: string;
  method: string;
  a2aVersion: string | null;
  params: { configuration?: Record<string, unknown> } & Record<string, unknown>;
}

export interface SdkClient {
  flavour: Flavour;
  client: Client;
  /** Every JSON-RPC call the client made, in order (agent-card fetches excluded). */
  sent: SentCall[];
}

const LEGACY = { legacyCompat: { enabled: true } } as const;

/**
 * The transports' fetch, recording each call before handing it to the real
 * fetch unchanged: it lets a test prove which protocol the SDK chose.
 */
function recordingFetch(sent: SentCall[]): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    const body: unknown = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    const call = (typeof body === 'object' && body !== null ? body : {}) as { method?: unknown; params?: SentCall['params'] };
    sent.push({
      url: String(input instanceof Request ? input.url : input),
      method: String(call.method ?? ''),
      a2aVersion: headers.get('a2a-version'),
      params: call.params ?? {},
    });
    return fetch(input, init);
  };
}

/**
 * Reads /.well-known/agent.json as a client built before A2A 1.0 reads it:
 * it does not know `supportedInterfaces`, only `url`, `preferredTransport`,
 * `additionalInterfaces` and `protocolVersion`. The SDK only takes the 0.3
 * path for a card without `supportedInterfaces`: given the card as served, it
 * prefers the 1.0 interface (see sdk-discovery.test.ts).
 */
const asSeenByA03Client: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  const card = (await res.json()) as Record<string, unknown>;
  delete card.supportedInterfaces;
  return new Response(JSON.stringify(card), { status: res.status, headers: { 'content-type': 'application/json' } });
};

/** The SDK's 1.0 client, discovered from /.well-known/agent-card.json. */
export async function v1Client(agentUrl: string): Promise<SdkClient> {
  const sent: SentCall[] = [];
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl: recordingFetch(sent) })],
    }),
  );
  // The card path is resolved against the base like a relative URL: the slash keeps any base path.
  const client = await factory.createFromUrl(`${agentUrl}/`);
  return { flavour: '1.0', client, sent };
}

/** The SDK's 0.3 compatibility client, discovered from the 0.3 card /.well-known/agent.json. */
export async function v03Client(agentUrl: string): Promise<SdkClient> {
  const sent: SentCall[] = [];
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      cardResolver: new DefaultAgentCardResolver({ ...LEGACY, fetchImpl: asSeenByA03Client }),
      transports: [new JsonRpcTransportFactory({ ...LEGACY, fetchImpl: recordingFetch(sent) })],
    }),
  );
  const client = await factory.createFromUrl(`${agentUrl}/`, '.well-known/agent.json');
  return { flavour: '0.3', client, sent };
}

/**
 * The SDK's 1.0 client over HTTP+JSON only, discovered from the 1.0 card: it
 * picks the card's HTTP+JSON interface. `urls` records each request as
 * "METHOD path", proving the binding it used.
 */
export async function restClient(agentUrl: string): Promise<{ client: Client; urls: string[] }> {
  const urls: string[] = [];
  const recording: typeof fetch = async (input, init) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    urls.push(`${init?.method ?? 'GET'} ${url.pathname}${url.search}`);
    return fetch(input, init);
  };
  // Not merged with the SDK's defaults, which would add its JSON-RPC transport (listed first on our card).
  const factory = new ClientFactory({ transports: [new RestTransportFactory({ fetchImpl: recording })] });
  const client = await factory.createFromUrl(`${agentUrl}/`);
  return { client, urls };
}

export function sdkClient(flavour: Flavour, agentUrl: string): Promise<SdkClient> {
  return flavour === '1.0' ? v1Client(agentUrl) : v03Client(agentUrl);
}

/** The JSON-RPC method names each flavour uses for an operation. */
export const METHOD: Readonly<Record<Flavour, Readonly<Record<'send' | 'stream' | 'get' | 'cancel' | 'subscribe', string>>>> = {
  '1.0': { send: 'SendMessage', stream: 'SendStreamingMessage', get: 'GetTask', cancel: 'CancelTask', subscribe: 'SubscribeToTask' },
  '0.3': { send: 'message/send', stream: 'message/stream', get: 'tasks/get', cancel: 'tasks/cancel', subscribe: 'tasks/resubscribe' },
};

/** Bounds one SDK call: a hang aborts the request and fails the test instead of blocking it. */
export function callDeadline(ms = PATIENCE_MS): RequestOptions {
  return { signal: AbortSignal.timeout(ms) };
}

/** A user message built from its 1.0 wire JSON, so every field the SDK type requires gets its default. */
export function userMessage(text: string, extra: Record<string, unknown> = {}): Message {
  return Message.fromJSON({ messageId: `sdk-${crypto.randomUUID()}`, role: 'ROLE_USER', parts: [{ text }], ...extra });
}

export function sendRequest(message: Message, configuration?: Record<string, unknown>): SendMessageRequest {
  return SendMessageRequest.fromJSON({ message: Message.toJSON(message), ...(configuration === undefined ? {} : { configuration }) });
}

export function getRequest(id: string, historyLength?: number): GetTaskRequest {
  return GetTaskRequest.fromJSON(historyLength === undefined ? { id } : { id, historyLength });
}

/** The texts of a list of parts (non-text parts are a test failure). */
export function texts(parts: readonly Part[]): string[] {
  return parts.map((part) => {
    assert.equal(part.content?.$case, 'text', `expected a text part, got ${JSON.stringify(part)}`);
    return part.content.value;
  });
}

export function stateName(state: TaskState | undefined): string {
  return state === undefined ? 'none' : taskStateToJSON(state);
}

export function assertIsTask(result: Message | Task): asserts result is Task {
  assert.ok('status' in result && 'id' in result, `expected a Task, got ${JSON.stringify(result)}`);
}

export function assertIsMessage(result: Message | Task): asserts result is Message {
  assert.ok('messageId' in result && !('status' in result), `expected a Message, got ${JSON.stringify(result)}`);
}

/** Reads a stream to its end, each event as the SDK hands it over; fails if it has not ended within `ms`. */
export function drain(events: AsyncIterable<StreamResponse>, ms = PATIENCE_MS): Promise<StreamResponse[]> {
  return readAll(events, 'the stream to end', ms);
}

/** One line per event: its kind and the state or artifact it carries, for order assertions. */
export function describeEvent(event: StreamResponse): string {
  const payload = event.payload;
  switch (payload?.$case) {
    case 'task':
      return `task:${stateName(payload.value.status?.state)}`;
    case 'statusUpdate':
      return `status:${stateName(payload.value.status?.state)}`;
    case 'artifactUpdate':
      return `artifact:${payload.value.artifact?.artifactId ?? ''}`;
    case 'message':
      return 'message';
    default:
      return 'empty';
  }
}

/** The task id every event of a stream names. */
export function eventTaskId(event: StreamResponse): string {
  const payload = event.payload;
  switch (payload?.$case) {
    case 'task':
      return payload.value.id;
    case 'statusUpdate':
    case 'artifactUpdate':
      return payload.value.taskId;
    case 'message':
      return payload.value.taskId;
    default:
      return '';
  }
}

/** Polls GetTask until the task reaches `state`, failing after `timeoutMs`. */
export function pollUntil(client: Client, id: string, state: TaskState, timeoutMs = PATIENCE_MS): Promise<Task> {
  return waitFor(`task ${id} to reach ${stateName(state)}`, async () => {
    const task = await client.getTask(getRequest(id), callDeadline());
    return task.status?.state === state ? task : undefined;
  }, timeoutMs);
}

/** Runs `action`, which must throw; returns the error for the caller's assertions. */
export async function rejection(action: () => Promise<unknown>): Promise<Error> {
  try {
    await action();
  } catch (error) {
    assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}

/** The JSON-RPC error code the SDK attached to a typed error. */
export function envelopeCode(error: Error): number | undefined {
  return isJsonRpcError(error) ? error.envelopeCode : undefined;
}

export { TaskState };
