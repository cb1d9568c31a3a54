import { statSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { dirname } from 'node:path';

export interface MountedPathWatchOptions {
  /** Re-read this often even without a file event (some volumes send none). */
  pollMs?: number;
  /** How long events must settle before the re-read. */
  debounceMs?: number;
  /** The watch itself failed (the poll keeps going). */
  onError: (error: unknown) => void;
}

export interface MountedPathWatch {
  stop(): void;
}

/**
 * Calls `reload` whenever a mounted file or directory (a ConfigMap or Secret
 * volume) may have changed. The kubelet updates such a volume by writing a new
 * timestamped directory and renaming a `..data` symlink over the old one, so a
 * file's own watch would follow the old inode: the watch is on the directory
 * (the path itself, or a file's parent), debounced because one update is
 * several renames, and backed by a poll for volumes that send no events.
 */
export function watchMountedPath(path: string, reload: () => void, options: MountedPathWatchOptions): MountedPathWatch {
  const dir = isDirectory(path) ? path : dirname(path);
  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  try {
    watcher = watch(dir, () => {
      clearTimeout(debounce);
      debounce = setTimeout(reload, options.debounceMs ?? 100);
      debounce.unref();
    });
    watcher.on('error', (error) => options.onError(error));
  } catch (error) {
    options.onError(error);
  }
  const poll = setInterval(reload, options.pollMs ?? 10_000);
  poll.unref();
  return {
    stop() {
      watcher?.close();
      clearInterval(poll);
      clearTimeout(debounce);
    },
  };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
