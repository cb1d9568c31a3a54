import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { CallToolRequest, CallToolResult, ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import type { KeyedSlots } from '../core/keyed-slots.js';
import { runSubTask } from '../core/sub-task.js';
import type { TaskService } from '../core/task-service.js';
import { InvalidParamsError, LimitExceededError } from '../model/errors.js';
import type { Caller, StreamItem } from '../model/model.js';
import { errorResult, messageResult, taskResult, textOf, toolFor, toolMessage } from '../protocol/mcp-tools.js';
import type { ToolSource } from '../protocol/mcp-tools.js';
import { jsonRpcError, protocolErrors, toWireError } from '../protocol/errors.js';
import { errorEnvelope } from '../protocol/jsonrpc.js';
import { checkNesting } from '../protocol/read.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { VERSION } from '../version.js';
import { sendJsonText } from './send-json.js';

export interface McpEndpointOptions {
  service: TaskService;
  /** The skills offered now: read on every request, so skills added or removed at run time show at once. */
  skills: () => readonly ToolSource[];
  /** Whether the caller may use the skill (SKILL_PERMISSIONS): tools/list shows only those. */
  mayUse: (caller: Caller, skillId: string) => boolean;
  /** MCP_SERVER, read on every request: off, /mcp is not there. */
  enabled: () => boolean;
  /** The same per-caller cap as A2A streams: a tool call holds its response open as a stream does. */
  streamsPerCaller?: KeyedSlots;
  logger: Logger;
  metrics: Metrics;
}

/** The parts of the MCP SDK the endpoint uses, loaded at its first request: the SDK (with zod) is some 30 MB a pod with MCP_SERVER off never needs. */
type ServerSdk = typeof import('@modelcontextprotocol/sdk/server/index.js') &
  typeof import('@modelcontextprotocol/sdk/server/streamableHttp.js') &
  typeof import('@modelcontextprotocol/sdk/types.js');

let serverSdk: Promise<ServerSdk> | undefined;

function loadServerSdk(): Promise<ServerSdk> {
  serverSdk ??= Promise.all([
    import('@modelcontextprotocol/sdk/server/index.js'),
    import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ]).then(([server, transport, types]) => ({ ...types, ...transport, ...server }));
  return serverSdk;
}

const SESSION_HEADER = 'mcp-session-id';
/** A session id longer than this is not ours: it is ignored. */
const MAX_SESSION_ID = 64;

/**
 * Serves this agent's skills as MCP tools (streamable HTTP, stateless): each
 * POST gets its own SDK server, built from the skill registry as it is now,
 * for the caller the auth gate admitted. A tool call runs its skill as a task
 * through the task service, so it is stored, listed and cancelable like any
 * other. Stateless because any replica may receive the next request of a
 * client; the session id handed out at initialize carries no state, it only
 * keeps two clients of one caller apart when one cancels a request by its id.
 */
export class McpEndpoint {
  /** Tool calls in flight in this process, by caller, session and request id: what a cancel notification names. */
  private readonly inFlight = new Map<string, AbortController>();

  constructor(private readonly options: McpEndpointOptions) {}

  get enabled(): boolean {
    return this.options.enabled();
  }

  /** Serves one POST whose body the transport has bounded and read. */
  async handle(req: IncomingMessage, res: ServerResponse, body: string, caller: Caller): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
      // Before the SDK's schemas walk it: nesting is bounded here as on every other path.
      checkNesting(parsed, 'body');
    } catch (error) {
      const wire = toWireError(error instanceof SyntaxError ? protocolErrors.parse(error.message) : error);
      sendJsonText(res, wire.httpStatus, { 'content-type': 'application/json' }, errorEnvelope(null, jsonRpcError(wire)));
      return;
    }
    const header = req.headers[SESSION_HEADER];
    let session = typeof header === 'string' && header.length <= MAX_SESSION_ID ? header : '';
    if (isInitialize(parsed)) {
      session = randomUUID();
      res.setHeader(SESSION_HEADER, session);
    }
    const sdk = await loadServerSdk();
    const server = this.serverFor(sdk, caller, session);
    const transport = new sdk.StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    // The answer is out, or the client went away: a call still running goes on (see callTool).
    res.once('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, parsed);
  }

  /** The SDK's low-level server: its tools are read from the registry per request and take one JSON Schema, and errors are worded here. */
  private serverFor(sdk: ServerSdk, caller: Caller, session: string): Server {
    const server = new sdk.Server(
      { name: 'kagent-a2a', version: VERSION },
      {
        capabilities: { tools: { listChanged: false } },
        instructions: 'Each tool runs one skill of this A2A agent as a task; a task that asks for input is answered by calling its tool again with its taskId.',
      },
    );
    server.setRequestHandler(sdk.ListToolsRequestSchema, () => ({
      tools: this.options.skills().filter((skill) => this.options.mayUse(caller, skill.id)).map(toolFor),
    }));
    // The handler's own signal is left alone: it fires when this request's connection closes, and the MCP transport
    // spec says a disconnect is not a cancel. A dropped call's task runs on, stored, for GetTask to read.
    server.setRequestHandler(sdk.CallToolRequestSchema, (request, extra) =>
      this.callTool(sdk, caller, session, request, extra.requestId, (progress) => extra.sendNotification(progress)),
    );
    // A cancel arrives in a request of its own, to a server of its own: it finds the call by its key.
    server.setNotificationHandler(sdk.CancelledNotificationSchema, (notification) => {
      const requestId = notification.params.requestId;
      if (requestId !== undefined) this.inFlight.get(callKey(caller, session, requestId))?.abort(new Error('the MCP client canceled the call'));
    });
    return server;
  }

  private async callTool(
    sdk: ServerSdk,
    caller: Caller,
    session: string,
    request: CallToolRequest,
    requestId: string | number,
    notify: (notification: ServerNotification) => Promise<void>,
  ): Promise<CallToolResult> {
    const tool = request.params.name;
    const offered = this.options.skills();
    if (!offered.some((skill) => skill.id === tool)) {
      const known = offered.filter((skill) => this.options.mayUse(caller, skill.id)).map((skill) => skill.id);
      throw new sdk.McpError(sdk.ErrorCode.InvalidParams, `no tool named "${tool.slice(0, 100)}"; this agent offers: ${known.join(', ')}`);
    }
    const key = callKey(caller, session, requestId);
    const controller = new AbortController();
    this.inFlight.set(key, controller);
    const started = process.hrtime.bigint();
    let taskId: string | undefined;
    let outcome = 'ok';
    let release: (() => void) | undefined;
    try {
      const message = toolMessage(tool, request.params.arguments, randomUUID());
      if (message.taskId !== undefined) await this.checkAnswers(caller, message.taskId, tool);
      release = this.streamSlot(caller);
      const progressToken = request.params._meta?.progressToken;
      let progress = 0;
      const onItem = (item: StreamItem) => {
        if (item.kind === 'task') taskId = item.task.id;
        const status = item.kind === 'task' ? item.task.status : item.kind === 'status-update' ? item.status : undefined;
        if (progressToken === undefined || status === undefined) return;
        const said = textOf(status.message?.parts ?? []);
        const text = `task ${taskId} ${status.state}${said === undefined ? '' : `: ${said}`}`;
        notify({ method: 'notifications/progress', params: { progressToken, progress: ++progress, message: text } }).catch(() => undefined);
      };
      const result = await runSubTask(this.options.service, caller, tool, message, controller.signal, { onItem, keepInterrupted: true });
      if (!('status' in result)) return messageResult(result);
      outcome = result.status.state;
      return taskResult(result, tool);
    } catch (error) {
      if (controller.signal.aborted) {
        outcome = 'canceled';
        throw new sdk.McpError(sdk.ErrorCode.RequestTimeout, 'the call was canceled and its task with it');
      }
      const wire = toWireError(error);
      outcome = wire.reason;
      if (wire.reason === 'INTERNAL') {
        this.options.logger.error({ err: error, tool }, 'MCP tool call failed');
        return errorResult('internal error', wire.reason);
      }
      return errorResult(wire.message, wire.reason);
    } finally {
      const ms = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
      this.options.logger.info({ tool, taskId, outcome, ms }, 'mcp tool call');
      this.options.metrics.mcpToolCalls.inc({ tool, outcome });
      release?.();
      if (this.inFlight.get(key) === controller) this.inFlight.delete(key);
    }
  }

  /** An answer goes to a task of the same tool: the task's own skill would otherwise run under another tool's name. */
  private async checkAnswers(caller: Caller, taskId: string, tool: string): Promise<void> {
    const task = await this.options.service.getTask(caller, taskId, 0);
    const skill = task.metadata?.skill;
    if (skill !== tool) throw new InvalidParamsError(`task ${taskId} was started by tool ${String(skill)}, not ${tool}; answer it with that tool`, 'arguments.taskId');
  }

  private streamSlot(caller: Caller): () => void {
    const slots = this.options.streamsPerCaller;
    if (slots === undefined) return () => undefined;
    const release = slots.tryAcquire(`${caller.tenant}\u0000${caller.principal}`);
    if (release === undefined) {
      throw new LimitExceededError('TOO_MANY_STREAMS', `this caller already has ${slots.max} tool calls and streams open, the most allowed at once; retry when one has ended`, 5);
    }
    return release;
  }
}

function callKey(caller: Caller, session: string, requestId: string | number): string {
  return `${caller.tenant}\u0000${caller.principal}\u0000${session}\u0000${typeof requestId}:${requestId}`;
}

function isInitialize(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => typeof m === 'object' && m !== null && (m as Record<string, unknown>).method === 'initialize');
}
