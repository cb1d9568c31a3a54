import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';

// A webhook receiver, run as its own process (tests/support/push-receiver.ts
// starts it): records every POST it takes, and answers as its mode says —
// ok (204), fail (500) or hang (never answers). GET /received lists what it
// recorded; POST /mode with the mode as the body switches it. In mode redirect
// it answers 307 to a cloud metadata address, which must never be followed.

type Mode = 'ok' | 'fail' | 'hang' | 'redirect';
let mode = (process.env.MODE ?? 'ok') as Mode;
const received: unknown[] = [];
const hanging = new Set<ServerResponse>();

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    if (req.method === 'GET' && req.url === '/received') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(received));
    if (req.method === 'POST' && req.url === '/mode') {
      mode = body as Mode;
      for (const waiting of hanging) waiting.destroy();
      hanging.clear();
      return void res.writeHead(204).end();
    }
    if (mode === 'hang') {
      hanging.add(res);
      return;
    }
    if (mode === 'redirect') return void res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    // Only deliveries that were taken count as received: a receiver that failed one did not get it.
    if (mode === 'ok') {
      received.push({
        path: req.url,
        contentType: req.headers['content-type'],
        authorization: req.headers.authorization,
        token: req.headers['x-a2a-notification-token'],
        goToken: req.headers['a2a-notification-token'],
        deliveryId: req.headers['a2a-delivery-id'],
        signature: req.headers['a2a-notification-signature'],
        bodySha256: createHash('sha256').update(body).digest('hex'),
        body: JSON.parse(body) as unknown,
      });
    }
    res.writeHead(mode === 'ok' ? 204 : 500).end();
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('listening\n'));
