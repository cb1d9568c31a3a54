// The ceiling: node:http reading each request body and answering one fixed
// JSON-RPC result (the shape of a direct Message reply), with no parsing, no
// routing and no store. No A2A server on this machine can beat it.
//
//   node bench/servers/bare-server.mjs --port N
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({ options: { port: { type: 'string', default: '0' } } });

const BODY = Buffer.from(
  JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    result: { message: { messageId: '00000000-0000-4000-8000-000000000000', role: 'ROLE_AGENT', parts: [{ text: 'Direct message response' }] } },
  }),
);
const HEADERS = { 'content-type': 'application/json', 'content-length': String(BODY.length) };

const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => res.writeHead(200, HEADERS).end(BODY));
});
server.keepAliveTimeout = 65_000;
server.listen(Number(args.port), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, port: server.address().port })}\n`);
});
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
