// A bare gRPC client of our A2A service: requests are bytes a test encodes
// (or makes up), answers bytes it decodes, errors read back from their
// google.rpc.Status. The official SDK's gRPC client is the independent peer
// (tests/e2e/interop/sdk-grpc.test.ts); this one can send what no SDK would.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { decodeToJson, encodeFromJson } from '../../src/protocol/grpc/proto-json.js';
import { A2A_SERVICE, messageType } from '../../src/protocol/grpc/schema.js';
import { PATIENCE_MS } from './patience.js';

const identity = (bytes: Buffer) => bytes;

/** A google.rpc.Status, each detail as ProtoJSON with its type name. */
export interface RpcStatus {
  code: number;
  message: string;
  details: { type: string; value: Record<string, unknown> }[];
}

/** The google.rpc.Status of a failed call, read from its `grpc-status-details-bin` trailer. */
export function statusOf(error: grpc.ServiceError): RpcStatus {
  const raw = error.metadata?.get('grpc-status-details-bin')[0];
  assert.ok(Buffer.isBuffer(raw), `the error carries grpc-status-details-bin (${error.code} ${error.details})`);
  const status = messageType('google.rpc.Status').decode(raw) as unknown as { code: number; message: string; details: { type_url: string; value: Uint8Array }[] };
  return {
    code: status.code,
    message: status.message,
    details: status.details.map((detail) => {
      const type = detail.type_url.replace('type.googleapis.com/', '');
      return { type, value: decodeToJson(messageType(type), detail.value) };
    }),
  };
}

/** A message of package lf.a2a.v1 from its ProtoJSON form. */
export const encodeA2a = (type: string, json: unknown): Buffer => Buffer.from(encodeFromJson(messageType(`lf.a2a.v1.${type}`), json));
/** A message of package lf.a2a.v1 as ProtoJSON. */
export const decodeA2a = (type: string, bytes: Buffer): Record<string, any> => decodeToJson(messageType(`lf.a2a.v1.${type}`), bytes);

export function metadataOf(headers: Record<string, string>): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(headers)) metadata.set(name.toLowerCase(), value);
  return metadata;
}

export class RawGrpcClient {
  private readonly client: grpc.Client;

  constructor(target: string) {
    this.client = new grpc.Client(target, grpc.credentials.createInsecure());
  }

  close(): void {
    this.client.close();
  }

  unary(method: string, request: Buffer, metadata = new grpc.Metadata()): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(`/${A2A_SERVICE}/${method}`, identity, identity, request, metadata, { deadline: Date.now() + PATIENCE_MS }, (error, value) =>
        error ? reject(error) : resolve(value!),
      );
    });
  }

  stream(method: string, request: Buffer, metadata = new grpc.Metadata(), deadline = Date.now() + PATIENCE_MS): grpc.ClientReadableStream<Buffer> {
    return this.client.makeServerStreamRequest(`/${A2A_SERVICE}/${method}`, identity, identity, request, metadata, { deadline });
  }
}
