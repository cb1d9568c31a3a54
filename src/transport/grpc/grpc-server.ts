import * as grpc from '@grpc/grpc-js';
import type { A2aGrpcService } from './a2a-grpc-service.js';

export interface GrpcServerOptions {
  host: string;
  /** The port to bind; 0 picks a free one (the GRPC_PORT setting's 0 means off and never reaches here). */
  port: number;
  /** The largest request message accepted (MAX_BODY_BYTES): larger ones are refused by grpc-js with RESOURCE_EXHAUSTED. */
  maxMessageBytes: number;
  /** How often an idle connection is pinged, so that proxies keep a quiet stream open (the SSE heartbeat's interval). */
  keepaliveMs: number;
}

export interface RunningGrpcServer {
  readonly port: number;
  /** Refuses new calls, lets running ones finish until `deadline`, then cancels what remains. */
  stop(deadline: number): Promise<void>;
}

/** The A2A gRPC service on its own port (plaintext HTTP/2: TLS ends at the mesh or ingress, as for HTTP). */
export async function startGrpcServer(a2a: A2aGrpcService, options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.keepalive_time_ms': options.keepaliveMs,
    'grpc.keepalive_permit_without_calls': 1,
  });
  const { service, handlers } = a2a.definition();
  server.addService(service, handlers);
  const address = options.host.includes(':') ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error === null) resolve(bound);
      else reject(new Error(`cannot listen for gRPC on ${address} (settings HOST, GRPC_PORT): ${error.message}`, { cause: error }));
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    port,
    stop: (deadline) =>
      (stopping ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), Math.max(0, deadline - Date.now()));
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      })),
  };
}
