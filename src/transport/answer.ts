import type { A2aResult } from '../core/dispatcher.js';
import type { Codec, ListingCodec } from '../protocol/codec.js';

/** A result that is one JSON document (everything but a stream). */
export type JsonResult = Exclude<A2aResult, { kind: 'stream' }>;

/** A dispatcher's result as the JSON a version writes it: the JSON-RPC `result`, or the HTTP+JSON body. */
export function encodeResult(result: JsonResult, codec: Codec): unknown {
  switch (result.kind) {
    case 'sent':
      return codec.encodeSendResult(result.result);
    case 'task':
      return codec.encodeTask(result.task);
    case 'page':
      // Only versions with ListTasks resolve the operation that answers with a page.
      return (codec as ListingCodec).encodeTaskPage(result.page, result.includeArtifacts);
    case 'card':
      return result.card;
    case 'push-config':
      return codec.encodePushConfig(result.taskId, result.config);
    case 'push-configs':
      return codec.encodePushConfigs(result.taskId, result.configs);
    case 'push-config-deleted':
      return codec.pushConfigDeleted;
  }
}
