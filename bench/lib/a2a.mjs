// A2A 1.0 JSON-RPC request bodies and response checks shared by the load
// generator and the stream client. Every server under test gets byte-for-byte
// the same requests (only the path differs).

export const HEADERS = { 'content-type': 'application/json', 'a2a-version': '1.0' };

// Unique across processes and runs: a resent identical message is deduplicated
// by our server, which would turn a write benchmark into a lookup benchmark.
const RUN = `${process.pid.toString(36)}${Date.now().toString(36)}`;
let counter = 0;
const nextId = () => `${RUN}-${(counter++).toString(36)}`;

const rpc = (method, params) => JSON.stringify({ jsonrpc: '2.0', id: counter, method, params });

/** A message our conformance skill (and the SDK peer) answer with a Message: no task is created. */
export function messageOnlyBody() {
  return rpc('SendMessage', { message: { role: 'ROLE_USER', messageId: `tck-message-response-${nextId()}`, parts: [{ text: 'hi' }] } });
}

/** A task-mode echo, blocking until completed. */
export function taskBody({ delayMs, returnImmediately } = {}) {
  const message = { role: 'ROLE_USER', messageId: `bench-${nextId()}`, parts: [{ text: 'hi' }] };
  if (delayMs !== undefined) message.metadata = { delayMs };
  const params = { message };
  if (returnImmediately) params.configuration = { returnImmediately: true };
  return rpc('SendMessage', params);
}

/** A task that stops in input-required: its subscribers stay open and idle. */
export function inputRequiredBody() {
  return rpc('SendMessage', { message: { role: 'ROLE_USER', messageId: `tck-input-required-${nextId()}`, parts: [{ text: 'hi' }] } });
}

export function getTaskBody(id) {
  return rpc('GetTask', { id });
}

export function subscribeBody(id) {
  return rpc('SubscribeToTask', { id });
}

/**
 * Whether a response body is the success the scenario expects. Cheap string
 * tests on purpose: parsing every body would load the generator's core, which
 * the servers share.
 */
export const CHECKS = {
  result: (body) => body.includes('"result"'),
  message: (body) => body.includes('"result"') && body.includes('"message"') && !body.includes('"task"'),
  completed: (body) => body.includes('"result"') && body.includes('TASK_STATE_COMPLETED'),
  task: (body) => body.includes('"result"') && body.includes('"id"'),
};

/** The task id of a SendMessage or GetTask result, or undefined. */
export function taskIdOf(body) {
  try {
    const result = JSON.parse(body).result;
    return result?.task?.id ?? result?.id;
  } catch {
    return undefined;
  }
}
