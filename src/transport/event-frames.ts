import type { StreamItem } from '../model/model.js';
import type { Codec } from '../protocol/codec.js';
import type { JsonRpcId } from '../protocol/jsonrpc.js';

// One event goes to every subscriber of its task, often hundreds: encode its
// result once per protocol version and only wrap it per stream, whose
// envelopes differ by request id alone.
const encoded = new WeakMap<StreamItem, Map<Codec, string>>();

/** One event's result in a version, as JSON: written once however many streams carry it. */
export function encodedResult(item: StreamItem, codec: Codec): string {
  let byCodec = encoded.get(item);
  if (byCodec === undefined) {
    byCodec = new Map();
    encoded.set(item, byCodec);
  }
  let json = byCodec.get(codec);
  if (json === undefined) {
    json = JSON.stringify(codec.encodeStreamItem(item));
    byCodec.set(codec, json);
  }
  return json;
}

/** One stream's events as whole SSE events, each with its task version as the id (`encodeSseEvent`'s output). */
export type SseFramer = (item: StreamItem, version: number | undefined) => string;

// JSON text holds no raw line break (JSON.stringify escapes them), so one `data:` line carries it.
function sseHead(version: number | undefined): string {
  return version === undefined ? 'data: ' : `id: ${version}\ndata: `;
}

/** A JSON-RPC stream's events: its request id, encoded once per stream, is all that differs from another stream's frame of the same event. */
export function rpcEventFramer(id: JsonRpcId, codec: Codec): SseFramer {
  const open = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":`;
  return (item, version) => `${sseHead(version)}${open}${encodedResult(item, codec)}}\n\n`;
}

/** An HTTP+JSON stream's events: the result alone, the same for every stream of the event. */
export function resultEventFramer(codec: Codec): SseFramer {
  return (item, version) => `${sseHead(version)}${encodedResult(item, codec)}\n\n`;
}
