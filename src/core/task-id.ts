import { randomFillSync } from 'node:crypto';

// A task id names the pod that owns it: "<pod>.<uuid>". Pod names are DNS
// labels (no dots), so the owner is what precedes the first dot. Ids contain
// no ":" — the HTTP+JSON binding puts ":cancel" right after the id.

export function newTaskId(pod: string): string {
  return `${pod}.${timeOrderedUuid()}`;
}

/** Random bytes for this many ids are drawn at once: one call into the CSPRNG per pool, not per id (as crypto.randomUUID does). */
const IDS_PER_POOL = 256;
const RANDOM_BYTES_PER_ID = 10;
const pool = Buffer.alloc(IDS_PER_POOL * RANDOM_BYTES_PER_ID);
let poolOffset = pool.length;
const scratch = Buffer.alloc(16);

/**
 * A UUIDv7 (RFC 9562): 48 bits of milliseconds, then randomness. Ids made one
 * after another sort together, so a new task lands at the end of the store's
 * indexes instead of a random page — far fewer pages written per commit.
 */
export function timeOrderedUuid(now = Date.now()): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  scratch.writeUIntBE(now, 0, 6);
  pool.copy(scratch, 6, poolOffset, poolOffset + RANDOM_BYTES_PER_ID);
  poolOffset += RANDOM_BYTES_PER_ID;
  scratch[6] = (scratch[6]! & 0x0f) | 0x70;
  scratch[8] = (scratch[8]! & 0x3f) | 0x80;
  const hex = scratch.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A pod name: an RFC 1123 DNS label (lowercase letters, digits, inner hyphens, at most 63). */
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The pod that created the task, or undefined for an id this agent did not
 * make. Ids come from callers: whatever precedes the dot is only a name if it
 * is a DNS label, never a host, port or path.
 */
export function ownerOf(taskId: string): string | undefined {
  const dot = taskId.indexOf('.');
  if (dot <= 0) return undefined;
  const owner = taskId.slice(0, dot);
  return owner.length <= 63 && DNS_LABEL.test(owner) ? owner : undefined;
}
