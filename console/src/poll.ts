import { useEffect } from 'preact/hooks';

/** Runs `tick` now and every `ms` while the page is visible; a tick never overlaps the previous one. */
export function usePoll(tick: () => Promise<void>, ms: number, deps: unknown[]): void {
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      if (stopped) return;
      if (document.visibilityState === 'visible') await tick().catch(() => undefined);
      if (!stopped) timer = setTimeout(run, ms);
    };
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, deps);
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * An id cut to what tells it apart at a glance: a task's owner pod
 * (`kagent-1.`) stays, and a UUID keeps its last 8 digits (version 7 UUIDs
 * made close together share their first ones, the time).
 */
export function shortId(id: string): string {
  const dot = id.indexOf('.');
  const prefix = dot >= 0 ? id.slice(0, dot + 1) : '';
  const rest = id.slice(prefix.length);
  return rest.length > 12 ? `${prefix}…${rest.slice(-8)}` : id;
}

export function when(timestamp: string | undefined): string {
  if (timestamp === undefined || timestamp === '') return '';
  const date = new Date(timestamp);
  return Number.isNaN(date.getTime()) ? timestamp : date.toLocaleString();
}
