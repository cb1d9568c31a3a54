import { hostname } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/load.js';
import { EventBus } from './core/event-bus.js';
import { RetentionSweeper } from './core/retention.js';
import { SkillRegistry } from './core/skill-registry.js';
import { TaskService } from './core/task-service.js';
import { createLogger } from './observability/logger.js';
import type { Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { conformanceSkill } from './skills/conformance.js';
import { echoSkill } from './skills/echo.js';
import type { Skill } from './skills/skill.js';
import { SqliteTaskStore } from './store/sqlite-store.js';
import { agentCardV03, agentCardV1, cachedDocument } from './transport/agent-card.js';
import { createHttpServer } from './transport/http-server.js';
import { JsonRpcHandler } from './transport/jsonrpc-handler.js';
import { VERSION } from './version.js';

export interface RunningAgent {
  /** The base URL the agent card advertises. */
  readonly url: string;
  readonly port: number;
  readonly pod: string;
  readonly logger: Logger;
  /** Graceful stop: not ready, refuse new work, drain running tasks, close the store. */
  stop(): Promise<void>;
}

export const DATABASE_FILE = 'kagent-a2a.sqlite';

/** Replica name: the StatefulSet pod name, else the host's first DNS label. */
export function podName(config: Config): string {
  return config.POD_NAME ?? hostname().split('.')[0]!;
}

/** Wires the layers together and starts serving. */
export async function startAgent(config: Config): Promise<RunningAgent> {
  const pod = podName(config);
  const logger = createLogger(config.LOG_LEVEL, { pod });
  const store = new SqliteTaskStore({ path: join(config.DATA_DIR, DATABASE_FILE), synchronous: config.SQLITE_SYNCHRONOUS });
  await store.open();

  const metrics = new Metrics();
  metrics.setTaskCounts(await store.countByState());

  const skills: Skill[] = [echoSkill({ maxDelayMs: config.ECHO_MAX_DELAY })];
  if (config.CONFORMANCE_AGENT) skills.push(conformanceSkill());
  const registry = new SkillRegistry(skills, config.CONFORMANCE_AGENT ? 'conformance' : 'echo');

  const service = new TaskService({
    store,
    bus: new EventBus(),
    skills: registry,
    pod,
    streamCapacity: config.STREAM_BUFFER_EVENTS,
    observer: {
      taskEntered: (state, previous) => metrics.taskEntered(state, previous),
      skillFailed: (taskId, error) => {
        metrics.skillFailed();
        logger.warn({ taskId, err: error }, 'skill failed');
      },
    },
  });
  const recovered = await service.recoverInterrupted();
  if (recovered > 0) logger.warn({ tasks: recovered }, 'failed tasks that were running when the agent last stopped');

  const retention = new RetentionSweeper({
    store,
    retentionMs: config.TASK_RETENTION,
    intervalMs: config.RETENTION_SWEEP_INTERVAL,
    onDeleted: (deleted) => metrics.tasksDeleted(deleted),
    onError: (error) => logger.error({ err: error }, 'retention sweep failed'),
  });
  retention.start();

  let ready = false;
  const cards = { v1: cachedDocument({}), v03: cachedDocument({}) };
  const server = createHttpServer({
    jsonRpc: new JsonRpcHandler({ service, logger, metrics, heartbeatMs: config.STREAM_HEARTBEAT_INTERVAL }),
    cards,
    cardMaxAgeSeconds: Math.floor(config.CARD_CACHE_MAX_AGE / 1000),
    maxBodyBytes: config.MAX_BODY_BYTES,
    metrics,
    logger,
    isReady: () => ready && store.isOpen,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = config.PUBLIC_URL ?? `http://${advertisedHost(config.HOST)}:${port}`;
  const cardInput = { name: config.AGENT_NAME, description: config.AGENT_DESCRIPTION, version: VERSION, url, skills: registry.descriptors() };
  cards.v1 = cachedDocument(agentCardV1(cardInput));
  cards.v03 = cachedDocument(agentCardV03(cardInput));
  ready = true;
  logger.info({ url, port, host: config.HOST, dataDir: config.DATA_DIR, skills: registry.descriptors().map((s) => s.id) }, 'kagent-a2a serving');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      ready = false;
      logger.info({ running: service.runningCount }, 'stopping: draining running tasks');
      await service.drain(Date.now() + config.DRAIN_TIMEOUT);
      await retention.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Streams of tasks still waiting for input would hold the server open.
      server.closeAllConnections();
      await closed;
      await store.close();
      logger.info('stopped');
    })());
  return { url, port, pod, logger, stop };
}

function advertisedHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return hostname();
  return host.includes(':') ? `[${host}]` : host;
}
