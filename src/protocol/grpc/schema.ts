import protobuf from 'protobufjs';
import type { Root, Service, Type } from 'protobufjs';
import { A2A_PROTO } from './a2a-proto.js';
import { RPC_STATUS_PROTO } from './rpc-status-proto.js';

/** The gRPC service of A2A 1.0, by its full name (the method paths start with it). */
export const A2A_SERVICE = 'lf.a2a.v1.A2AService';

const WELL_KNOWN = ['any', 'duration', 'empty', 'struct', 'timestamp'].map((name) => `google/protobuf/${name}.proto`);

let root: Root | undefined;

/** Every type the gRPC binding uses, parsed once. */
function schema(): Root {
  if (root !== undefined) return root;
  const parsed = new protobuf.Root();
  // protobufjs ships the well-known types; the A2A and google.rpc files import them by these names.
  for (const file of WELL_KNOWN) {
    const common = protobuf.common.get(file);
    if (common === null) throw new Error(`protobufjs lacks ${file}`);
    parsed.addJSON(common.nested ?? {});
  }
  protobuf.parse(A2A_PROTO, parsed);
  protobuf.parse(RPC_STATUS_PROTO, parsed);
  parsed.resolveAll();
  root = parsed;
  return parsed;
}

/** A message type by its full name, e.g. `lf.a2a.v1.Task` or `google.rpc.Status`. */
export function messageType(name: string): Type {
  return schema().lookupType(name);
}

export function a2aService(): Service {
  return schema().lookupService(A2A_SERVICE);
}
