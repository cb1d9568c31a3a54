import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod/v4';

/**
 * A real MCP server on loopback, built with the MCP SDK's server side over
 * streamable HTTP (stateless: a server per request). Its tools cover what a
 * client must survive: a plain lookup, one that never answers, one that
 * reports an error, and one whose result is as large as asked.
 */
export interface ToolServer {
  /** The streamable HTTP endpoint (…/mcp). */
  url: string;
  /** Headers of each request received. */
  requests: IncomingHttpHeaders[];
  /** Calls of each tool, by name. */
  calls: Map<string, number>;
  /** Resolves the pending `slow` calls' hang-ups: how many clients went away mid-call. */
  abandoned: number;
  close(): Promise<void>;
}

export async function startToolServer(port = 0): Promise<ToolServer> {
  const state: ToolServer = { url: '', requests: [], calls: new Map(), abandoned: 0, close: async () => {} };
  const called = (name: string) => state.calls.set(name, (state.calls.get(name) ?? 0) + 1);
  const server: Server = createServer((req, res) => {
    state.requests.push(req.headers);
    if (req.url !== '/mcp') return void res.writeHead(404).end();
    const mcp = new McpServer({ name: 'runbook-tools', version: '1.0.0' });
    mcp.registerTool(
      'lookup_runbook',
      { description: 'Finds the runbook for an alert or failure by name.', inputSchema: { name: z.string().describe('alert or failure name') } },
      async ({ name }) => {
        called('lookup_runbook');
        return { content: [{ type: 'text', text: `Runbook for ${name}: check the pod's last logs, then restart it.` }] };
      },
    );
    mcp.registerTool('slow', { description: 'Never answers.' }, async () => {
      called('slow');
      await new Promise<void>((resolve) =>
        res.once('close', () => {
          state.abandoned++;
          resolve();
        }),
      );
      return { content: [{ type: 'text', text: 'too late' }] };
    });
    mcp.registerTool('broken', { description: 'Always reports an error.' }, async () => {
      called('broken');
      return { isError: true, content: [{ type: 'text', text: 'the runbook database is locked' }] };
    });
    mcp.registerTool('huge', { description: 'Returns `bytes` bytes of text.', inputSchema: { bytes: z.number().int() } }, async ({ bytes }) => {
      called('huge');
      return { content: [{ type: 'text', text: 'x'.repeat(bytes) }] };
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    void mcp.connect(transport).then(() => transport.handleRequest(req, res));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return state;
}
