import { StoreFullError } from '../model/errors.js';

/** How long a caller refused for a full store is asked to wait. */
export const STORE_FULL_RETRY_SECONDS = 10;

/**
 * Bytes a write probe commits (and deletes in the same transaction): a store
 * counts as taking writes again once a write this large fits, not merely a
 * tiny one beside the write that failed.
 */
export const PROBE_BYTES = 256 * 1024;

/** The task id of probe rows: it has spaces, so no task ever has it, and no reader ever sees them. */
export const PROBE_TASK_ID = ' write probe ';

const REASONS: Readonly<Record<string, string>> = {
  SQLITE_FULL: 'database or disk is full',
  ENOSPC: 'no space left on the device',
  '53100': "the database server's disk is full",
};

/**
 * A write that failed for lack of room: SQLite's SQLITE_FULL (also its answer
 * to ENOSPC, and to PRAGMA max_page_count), a raw ENOSPC, or PostgreSQL's
 * disk_full (SQLSTATE 53100).
 */
export function isOutOfSpace(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === '53100';
}

/**
 * Whether the store is full now: set by a write that found no room, cleared by
 * one that succeeded. Turns out-of-space failures into StoreFullError, so that
 * callers get a retryable answer instead of an internal error.
 */
export class FullState {
  private full = false;

  constructor(private readonly onFull?: () => void) {}

  get isFull(): boolean {
    return this.full;
  }

  /** The error to pass on for a failed write. */
  failed(error: unknown): unknown {
    if (error instanceof StoreFullError) return error;
    if (!isOutOfSpace(error)) return error;
    this.full = true;
    this.onFull?.();
    // A fixed reason: the driver's message can name server paths.
    return new StoreFullError(REASONS[(error as { code: string }).code] ?? 'no space left', STORE_FULL_RETRY_SECONDS);
  }

  succeeded(): void {
    this.full = false;
  }
}
