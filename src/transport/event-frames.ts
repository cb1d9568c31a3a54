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

/** The JSON-RPC envelope of one stream event, as `resultEnvelope` would write it. */
export function eventFrame(id: JsonRpcId, item: StreamItem, codec: Codec): string {
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${encodedResult(item, codec)}}`;
}
