// The MCP client against a real MCP server (the SDK's server side, on
// loopback): tools listed with their schemas, calls with their results, and
// each way a server lets a caller down — down, slow, failing, oversized.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { EgressGuard } from '../../../src/peers/egress/index.js';
import { McpServers, McpUnavailableError } from '../../../src/peers/mcp/mcp-servers.js';
import type { McpServerSpec } from '../../../src/peers/mcp/mcp-servers.js';
import { freePort } from '../../support/service-process.js';
import { waitFor } from '../../support/wait.js';
import { startToolServer } from './tool-server.js';
import type { ToolServer } from './tool-server.js';

const never = () => new AbortController().signal;

describe('MCP servers: the client', () => {
  let tools: ToolServer;
  let dir: string;
  const egress = new EgressGuard();
  const clients: McpServers[] = [];
  const client = (specs: Record<string, McpServerSpec>, backoffMs = 60_000) => {
    const servers = new McpServers({ egress, backoffMs });
    servers.configure(specs);
    clients.push(servers);
    return servers;
  };
  const spec = (extra: Partial<McpServerSpec> = {}): McpServerSpec => ({ url: tools.url, timeoutMs: 30_000, maxResultBytes: 4096, ...extra });

  before(async () => {
    tools = await startToolServer();
    dir = mkdtempSync(join(tmpdir(), 'kagent-mcp-'));
  });
  after(async () => {
    for (const c of clients) await c.close();
    await egress.close();
    await tools.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('lists the tools with their descriptions and JSON-Schema input, and calls one', async () => {
    const servers = client({ runbooks: spec() });
    const listed = await servers.tools('runbooks');
    const lookup = listed.find((t) => t.name === 'lookup_runbook');
    assert.ok(lookup, `listed: ${listed.map((t) => t.name).join(', ')}`);
    assert.match(lookup.description, /Finds the runbook/);
    assert.equal(lookup.inputSchema.type, 'object');
    assert.deepEqual(Object.keys(lookup.inputSchema.properties as object), ['name']);
    assert.equal(await servers.call('runbooks', 'lookup_runbook', { name: 'CrashLoopBackOff' }, never()), "Runbook for CrashLoopBackOff: check the pod's last logs, then restart it.");
  });

  test('headers and the bearer token from a Secret file are sent', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'mcp-secret-token\n');
    const from = tools.requests.length;
    const servers = client({ runbooks: spec({ headers: { 'X-Team': 'sre' }, tokenFile }) });
    await servers.tools('runbooks');
    const sent = tools.requests.slice(from);
    assert.ok(sent.length > 0);
    for (const headers of sent) {
      assert.equal(headers.authorization, 'Bearer mcp-secret-token');
      assert.equal(headers['x-team'], 'sre');
    }
  });

  test('a server that is down is unavailable, named, with its next attempt; it is used once it is up', async () => {
    const port = await freePort();
    const servers = client({ later: spec({ url: `http://127.0.0.1:${port}/mcp` }) }, 50);
    await assert.rejects(servers.tools('later'), (error: Error) => error instanceof McpUnavailableError && /MCP server "later" is unavailable/.test(error.message));
    const late = await startToolServer(port);
    try {
      // The backoff has passed after a moment: the next use connects.
      const listed = await waitFor('the server to be reconnected', async () => {
        try {
          return await servers.tools('later');
        } catch {
          return undefined;
        }
      });
      assert.ok(listed.some((t) => t.name === 'lookup_runbook'));
    } finally {
      await late.close();
    }
  });

  test('while its backoff runs, a down server is refused at once, not called again', async () => {
    const port = await freePort();
    const servers = client({ down: spec({ url: `http://127.0.0.1:${port}/mcp` }) }, 60_000);
    await assert.rejects(servers.tools('down'), McpUnavailableError);
    await assert.rejects(servers.call('down', 'lookup_runbook', {}, never()), /unavailable: .*next attempt in 60s/);
  });

  test('a slow tool is cut at the timeout, and the server sees the client leave', async () => {
    const servers = client({ tight: spec({ timeoutMs: 300 }) });
    await assert.rejects(servers.call('tight', 'slow', {}, never()), /tight\/slow did not answer within 300ms/);
    // The connection stays usable.
    assert.match(await servers.call('tight', 'lookup_runbook', { name: 'x' }, never()), /Runbook for x/);
  });

  test('a tool that reports an error is an error naming the server, the tool and its message', async () => {
    const servers = client({ runbooks: spec() });
    await assert.rejects(servers.call('runbooks', 'broken', {}, never()), /runbooks\/broken reported an error: the runbook database is locked/);
  });

  test('an unknown tool is the server\'s refusal', async () => {
    const servers = client({ runbooks: spec() });
    await assert.rejects(servers.call('runbooks', 'no_such_tool', {}, never()), /runbooks\/no_such_tool/);
  });

  test('a result over the limit is refused: a little over after parsing, far over before it is read whole', async () => {
    const servers = client({ small: spec({ maxResultBytes: 2048 }) });
    await assert.rejects(servers.call('small', 'huge', { bytes: 5000 }, never()), /small\/huge returned 5000 bytes, more than the limit of 2048/);
    await assert.rejects(servers.call('small', 'huge', { bytes: 1_000_000 }, never()), /small\/huge answered with more than 2048 bytes/);
    assert.equal((await servers.call('small', 'huge', { bytes: 100 }, never())).length, 100);
  });

  test('aborting the signal ends the call with the abort', async () => {
    const servers = client({ runbooks: spec() });
    const controller = new AbortController();
    const call = servers.call('runbooks', 'slow', {}, controller.signal);
    await waitFor('the slow call to reach the server', () => (tools.calls.get('slow') ?? 0) >= 2);
    controller.abort(new Error('task canceled'));
    await assert.rejects(call, /task canceled/);
  });

  test('a server that refuses the credential is unavailable, and what it echoed of the request is not repeated', async () => {
    const tokenFile = join(dir, 'echoed-token');
    writeFileSync(tokenFile, 'very-secret-mcp-token');
    const echo = createServer((req, res) => res.writeHead(401, { 'content-type': 'text/plain' }).end(`denied: ${req.headers.authorization} ${req.headers['x-api-key']}`));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(echo.address() as AddressInfo).port}/mcp`;
      const servers = client({ strict: spec({ url, tokenFile, headers: { 'X-Api-Key': 'header-secret-value' } }) });
      const error = await servers.tools('strict').then(() => assert.fail('expected a refusal'), (e: Error) => e);
      assert.ok(error instanceof McpUnavailableError, String(error));
      assert.match(error.message, /MCP server "strict" is unavailable/);
      assert.doesNotMatch(error.message, /very-secret-mcp-token|header-secret-value/);
    } finally {
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    }
  });

  test('a server removed from the configuration is no longer used', async () => {
    const servers = client({ runbooks: spec() });
    await servers.tools('runbooks');
    servers.configure({});
    await assert.rejects(servers.tools('runbooks'), /not configured/);
  });
});
