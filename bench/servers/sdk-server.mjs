// Reference peer: an A2A 1.0 server built the way the official @a2a-js/sdk
// documents it (Express, DefaultRequestHandler), with the same trivial skills as
// ours so that the benchmark compares servers, not agents.
//
//   node bench/servers/sdk-server.mjs --port N [--store memory|sqlite|postgres] [--db FILE|URL] [--synchronous full|normal]
//
// Skills, chosen like ours (by messageId prefix, then metadata):
//   tck-message-response*  -> a direct Message, no task (our conformance skill)
//   tck-input-required*    -> a task that stops in input-required (an idle stream)
//   anything else          -> task-mode echo: submitted -> working -> artifact -> completed;
//                             with metadata.delayMs it stays working that long and
//                             publishes a progress status each second (as our echo does).
import http from 'node:http';
import { parseArgs } from 'node:util';
import express from 'express';
import { AGENT_CARD_PATH, Role, TaskState } from '@a2a-js/sdk';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore } from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    store: { type: 'string', default: 'memory' },
    db: { type: 'string' },
    synchronous: { type: 'string', default: 'full' },
    'max-delay-ms': { type: 'string', default: '300000' },
  },
});

const MAX_DELAY_MS = Number(args['max-delay-ms']);

const textPart = (text) => ({ content: { $case: 'text', value: text }, mediaType: 'text/plain', filename: '', metadata: undefined });
const agentMessage = (taskId, contextId, text) => ({
  messageId: crypto.randomUUID(),
  contextId,
  taskId,
  role: Role.ROLE_AGENT,
  parts: [textPart(text)],
  metadata: undefined,
  extensions: [],
  referenceTaskIds: [],
});

function requestedDelay(message) {
  const value = message.metadata?.delayMs;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) && n > 0 ? Math.min(Math.floor(n), MAX_DELAY_MS) : 0;
}

class BenchExecutor {
  #cancelled = new Set();

  async cancelTask(taskId) {
    this.#cancelled.add(taskId);
  }

  async execute(ctx, bus) {
    const { taskId, contextId } = ctx;
    const message = ctx.userMessage;
    if (message.messageId.startsWith('tck-message-response')) {
      bus.publish(AgentEvent.message({ ...agentMessage('', contextId, 'Direct message response') }));
      return;
    }
    const status = (state, text) =>
      AgentEvent.statusUpdate({
        taskId,
        contextId,
        status: { state, message: text === undefined ? undefined : agentMessage(taskId, contextId, text), timestamp: new Date().toISOString() },
        metadata: undefined,
      });
    bus.publish(
      AgentEvent.task(
        ctx.task ?? {
          id: taskId,
          contextId,
          status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: new Date().toISOString() },
          artifacts: [],
          history: [message],
          metadata: undefined,
        },
      ),
    );
    if (message.messageId.startsWith('tck-input-required')) {
      bus.publish(status(TaskState.TASK_STATE_INPUT_REQUIRED, 'Please provide more input'));
      return;
    }
    const delayMs = requestedDelay(message);
    bus.publish(status(TaskState.TASK_STATE_WORKING, delayMs > 0 ? `echoing in ${delayMs} ms` : undefined));
    const started = Date.now();
    let elapsed = 0;
    while (elapsed < delayMs) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, delayMs - elapsed)));
      if (this.#cancelled.delete(taskId)) {
        bus.publish(status(TaskState.TASK_STATE_CANCELED));
        return;
      }
      elapsed = Date.now() - started;
      if (elapsed < delayMs) bus.publish(status(TaskState.TASK_STATE_WORKING, `working: ${Math.floor(elapsed / 1000)}s of ${Math.ceil(delayMs / 1000)}s`));
    }
    bus.publish(
      AgentEvent.artifactUpdate({
        taskId,
        contextId,
        append: false,
        lastChunk: true,
        metadata: undefined,
        artifact: { artifactId: 'echo', name: 'echo', description: '', parts: message.parts, metadata: undefined, extensions: [] },
      }),
    );
    bus.publish(status(TaskState.TASK_STATE_COMPLETED));
  }
}

async function makeStore() {
  if (args.store === 'memory') return { store: new InMemoryTaskStore(), close: async () => {} };
  if (args.store === 'postgres') {
    if (!args.db) throw new Error('--store postgres needs --db URL (a database migrated with a2a-db upgrade)');
    const { Kysely, PostgresDialect } = await import('kysely');
    const { DatabaseTaskStore } = await import('@a2a-js/sdk/server/database');
    const { default: pg } = await import('pg');
    // As many connections as ours holds by default (DATABASE_POOL_SIZE).
    const db = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: args.db, max: 10 }) }) });
    return { store: new DatabaseTaskStore(db), close: () => db.destroy() };
  }
  if (args.store !== 'sqlite' || !args.db) throw new Error('--store sqlite needs --db FILE (migrated with a2a-db upgrade)');
  const { default: Database } = await import('better-sqlite3');
  const { Kysely, SqliteDialect } = await import('kysely');
  const { DatabaseTaskStore } = await import('@a2a-js/sdk/server/database');
  const sqlite = new Database(args.db);
  // The same durability as ours by default: write-ahead log, every commit synced
  // ('normal' only to fill a store fast before a read benchmark).
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`synchronous = ${args.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  const db = new Kysely({ dialect: new SqliteDialect({ database: sqlite }) });
  return { store: new DatabaseTaskStore(db), close: () => db.destroy() };
}

function makeCard(base) {
  return {
    name: 'SDK reference echo',
    description: 'echo skills for benchmarking',
    version: '1.0.0',
    supportedInterfaces: [{ url: `${base}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' }],
    provider: { organization: 'bench', url: 'https://example.com' },
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [{ id: 'echo', name: 'Echo', description: 'echo', tags: ['echo'], examples: [], inputModes: [], outputModes: [], securityRequirements: [] }],
    signatures: [],
  };
}

const { store, close } = await makeStore();
const app = express();
const server = http.createServer(app);
await new Promise((resolve) => server.listen(Number(args.port), '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;
const requestHandler = new DefaultRequestHandler(makeCard(base), store, new BenchExecutor());
app.use(`/${AGENT_CARD_PATH}`, agentCardHandler({ agentCardProvider: requestHandler }));
app.use('/a2a/jsonrpc', jsonRpcHandler({ requestHandler, userBuilder: UserBuilder.noAuthentication }));
process.stdout.write(`${JSON.stringify({ ready: true, port: server.address().port })}\n`);

const stop = async () => {
  server.closeAllConnections();
  server.close();
  await close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
