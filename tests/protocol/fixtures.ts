import type { Artifact, Message, Task } from '../../src/model/model.js';

// Internal-model values used by the codec tests. Every optional field is set
// somewhere, so a codec that forgets one fails a round trip.

export const HELLO_B64 = Buffer.from('hello').toString('base64'); // aGVsbG8=

export function userMessage(): Message {
  return {
    messageId: 'msg-1',
    role: 'user',
    contextId: 'ctx-1',
    taskId: 'task-1',
    metadata: { skill: 'echo', delayMs: 0, nested: { list: [1, 'two', null, true] } },
    extensions: ['https://example.com/ext/v1'],
    referenceTaskIds: ['task-0'],
    parts: [
      { kind: 'text', text: 'hello', metadata: { lang: 'en' } },
      { kind: 'bytes', bytes: HELLO_B64, mediaType: 'application/octet-stream', filename: 'hello.bin' },
      { kind: 'url', url: 'https://example.com/report.pdf', mediaType: 'application/pdf', filename: 'report.pdf', metadata: { pages: 3 } },
      { kind: 'data', data: { answer: 42, items: ['a', 'b'] }, metadata: { schema: 'v1' } },
    ],
  };
}

export function agentMessage(text: string, id = 'msg-agent-1'): Message {
  return { messageId: id, role: 'agent', contextId: 'ctx-1', taskId: 'task-1', parts: [{ kind: 'text', text }] };
}

export function artifact(): Artifact {
  return {
    artifactId: 'echo',
    name: 'Echo',
    description: 'what was sent',
    metadata: { chunk: 1 },
    extensions: ['https://example.com/ext/art'],
    parts: [
      { kind: 'text', text: 'hello' },
      { kind: 'url', url: 'https://example.com/a.txt', mediaType: 'text/plain', filename: 'a.txt' },
    ],
  };
}

export function inputRequiredTask(): Task {
  return {
    id: 'task-1',
    contextId: 'ctx-1',
    status: { state: 'input-required', timestamp: '2025-01-02T03:04:05.678Z', message: agentMessage('which one?', 'msg-agent-2') },
    artifacts: [artifact()],
    history: [userMessage(), agentMessage('working on it')],
    metadata: { origin: 'test' },
  };
}

export function bareTask(): Task {
  return {
    id: 'task-2',
    contextId: 'ctx-2',
    status: { state: 'submitted', timestamp: '2025-01-02T03:04:05.000Z' },
    artifacts: [],
    history: [],
  };
}
