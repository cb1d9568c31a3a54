import type { Server } from 'node:http';
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
}

/**
 * Counts open connections and marks those accepted above the cap as reserve
 * connections. Node refuses connections only past cap + reserve; what a reserve
 * connection may ask is the router's call (`isReserve`).
 */
export class ConnectionLimit {
  private open = 0;
  private readonly reserve = new WeakSet<Socket>();

  constructor(server: Server, readonly max: number, events: ConnectionLimitEvents) {
    server.maxConnections = max + PROBE_RESERVE;
    server.on('connection', (socket: Socket) => {
      this.open++;
      socket.once('close', () => this.open--);
      if (this.open > max) {
        this.reserve.add(socket);
        socket.setTimeout(RESERVE_IDLE_MS, () => socket.destroy());
      }
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
}
