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

export function shortId(id: string): string {
  return id.length > 12 ? `${id.slice(0, 8)}…` : id;
}

export function when(timestamp: string | undefined): string {
  if (timestamp === undefined || timestamp === '') return '';
  const date = new Date(timestamp);
  return Number.isNaN(date.getTime()) ? timestamp : date.toLocaleString();
}
