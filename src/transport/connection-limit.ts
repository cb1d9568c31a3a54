import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Connections accepted beyond MAX_CONNECTIONS, for health probes and metrics
 * scrapes only: a pod full of A2A clients must still tell Kubernetes it lives.
 */
export const PROBE_RESERVE = 16;

/** A reserve connection must ask at once (probes do); one that idles is dropped so squatters cannot fill the reserve. */
const RESERVE_IDLE_MS = 5_000;

export interface ConnectionLimitEvents {
  /** A connection was dropped at accept time: even the reserve is full. */
  dropped(): void;
  /** An idle keep-alive connection was closed to make room for a new one. */
  idleClosed(): void;
}

/**
 * Counts open connections and marks those accepted above the cap as reserve
 * connections. Node refuses connections only past cap + reserve; what a reserve
 * connection may ask is the router's call (`isReserve`).
 *
 * A keep-alive connection between requests holds a place without using it:
 * at the cap, the connection idle longest is closed to make room before a new
 * one is sent to the reserve. Only connections that have finished a response
 * and sent nothing since count as idle — never a fresh connection still to
 * send its first request, nor one whose next request has begun to arrive.
 */
export class ConnectionLimit {
  private open = 0;
  private readonly reserve = new WeakSet<Socket>();
  /** Keep-alive connections between requests, longest idle first, with the bytes read when they fell idle. */
  private readonly idle = new Map<Socket, number>();
  /** Closed to make room: already uncounted, so their 'close' must not count them out again. */
  private readonly evicted = new WeakSet<Socket>();

  constructor(server: Server, readonly max: number, private readonly events: ConnectionLimitEvents) {
    server.maxConnections = max + PROBE_RESERVE;
    server.on('connection', (socket: Socket) => {
      if (this.open >= max) this.closeIdle();
      this.open++;
      socket.once('close', () => {
        this.idle.delete(socket);
        if (!this.evicted.has(socket)) this.open--;
      });
      if (this.open > max) {
        this.reserve.add(socket);
        socket.setTimeout(RESERVE_IDLE_MS, () => socket.destroy());
      }
    });
    // Ahead of the router, so a response finished at once is still seen.
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket;
      this.idle.delete(socket);
      if (this.reserve.has(socket)) return;
      res.once('finish', () => {
        if (!socket.destroyed) this.idle.set(socket, socket.bytesRead);
      });
    });
    server.on('drop', () => events.dropped());
  }

  get count(): number {
    return this.open;
  }

  /** The connection was accepted above the cap: it may serve probes and metrics only. */
  isReserve(socket: Socket): boolean {
    return this.reserve.has(socket);
  }

  /** Closes the connection idle longest, if there is one; whether a place was freed. */
  private closeIdle(): boolean {
    for (const [socket, bytesRead] of this.idle) {
      this.idle.delete(socket);
      // Bytes since it fell idle: its next request is arriving (the 'request' event is still to come).
      if (socket.destroyed || socket.bytesRead !== bytesRead) continue;
      this.evicted.add(socket);
      this.open--;
      socket.destroy();
      this.events.idleClosed();
      return true;
    }
    return false;
  }
}
