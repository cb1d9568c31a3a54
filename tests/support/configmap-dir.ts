import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A directory laid out the way the kubelet mounts a ConfigMap: the data in a
 * timestamped directory, a `..data` symlink to it, and one symlink per key
 * through `..data`. `update` swaps the data the way the kubelet does — a new
 * directory, then an atomic rename of a new `..data` link over the old one.
 */
export class ConfigMapDir {
  private generation = 0;
  private current: string | undefined;
  private keys = new Set<string>();

  constructor(readonly path: string) {
    mkdirSync(path, { recursive: true });
  }

  update(data: Record<string, string>): void {
    const dirName = `..${Date.now()}_${this.generation++}`;
    mkdirSync(join(this.path, dirName));
    for (const [key, value] of Object.entries(data)) writeFileSync(join(this.path, dirName, key), value);
    symlinkSync(dirName, join(this.path, '..data_tmp'));
    renameSync(join(this.path, '..data_tmp'), join(this.path, '..data'));
    for (const key of Object.keys(data)) {
      if (!this.keys.has(key)) symlinkSync(join('..data', key), join(this.path, key));
      this.keys.add(key);
    }
    for (const key of [...this.keys]) {
      if (!(key in data)) {
        rmSync(join(this.path, key));
        this.keys.delete(key);
      }
    }
    if (this.current !== undefined) rmSync(join(this.path, this.current), { recursive: true });
    this.current = dirName;
  }
}
