import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A minimal foreign A2A agent on loopback that serves only its agent card, and
 * counts how often the card is fetched: enough to watch discovery at work.
 */
export interface FakePeer {
  url: string;
  cardFetches: number;
  /** Conditional fetches answered 304. */
  notModified: number;
  /** Serve the card at the 0.2-era path only (as VAPORA does). */
  legacyPathOnly: boolean;
  /** Answer card fetches with this body instead of the card (e.g. broken JSON). */
  override?: string;
  close(): Promise<void>;
}

export async function startFakePeer(
  name = 'peer',
  skills: { id: string; tags: string[] }[] = [{ id: 'summarize', tags: ['text'] }],
  port = 0,
): Promise<FakePeer> {
  let server: Server;
  const card = (url: string) =>
    JSON.stringify({
      name,
      description: `${name} for tests`,
      version: '1.0.0',
      supportedInterfaces: [{ url, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
      capabilities: { streaming: true },
      defaultInputModes: ['text/plain'],
      defaultOutputModes: ['text/plain'],
      skills: skills.map((s) => ({ id: s.id, name: s.id, description: s.id, tags: s.tags })),
    });
  const peer: FakePeer = {
    url: '',
    cardFetches: 0,
    notModified: 0,
    legacyPathOnly: false,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    const isCard = peer.legacyPathOnly ? path === '/.well-known/agent.json' : path === '/.well-known/agent-card.json';
    if (!isCard) return void res.writeHead(404).end();
    peer.cardFetches++;
    if (peer.override !== undefined) return void res.writeHead(200, { 'content-type': 'application/json' }).end(peer.override);
    const etag = '"card-v1"';
    if (req.headers['if-none-match'] === etag) {
      peer.notModified++;
      return void res.writeHead(304, { etag }).end();
    }
    res.writeHead(200, { 'content-type': 'application/json', etag }).end(card(peer.url));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  peer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  server.closeIdleConnections();
  return peer;
}

/**
 * A peer that accepts connections and never answers a byte: the worst case
 * for anything that waits on a peer. Counts the connections it was offered.
 */
export interface SilentPeer {
  url: string;
  connections: number;
  close(): Promise<void>;
}

export async function startSilentPeer(): Promise<SilentPeer> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    peer.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  const peer: SilentPeer = {
    url: '',
    connections: 0,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  peer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return peer;
}
