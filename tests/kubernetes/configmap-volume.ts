// A ConfigMap laid out on disk the way the kubelet mounts one: the files live in
// a timestamped directory, `..data` links to it, and each key is a link through
// `..data`. An update writes a new timestamped directory and swaps `..data` in
// one rename, so a reader sees the old set or the new set, never a mix.
import { mkdirSync, mkdtempSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class ConfigMapVolume {
  readonly dir: string;
  private generation = 0;

  constructor(data: Record<string, string>) {
    this.dir = mkdtempSync(join(tmpdir(), 'kagent-configmap-'));
    this.write(data);
  }

  /** Replaces the whole content, as the kubelet does after the ConfigMap changed. */
  write(data: Record<string, string>): void {
    const previous = this.generation === 0 ? undefined : readlinkSync(join(this.dir, '..data'));
    this.generation += 1;
    const stamp = `..2024_01_01_00_00_00.${String(this.generation).padStart(9, '0')}`;
    mkdirSync(join(this.dir, stamp));
    for (const [key, value] of Object.entries(data)) writeFileSync(join(this.dir, stamp, key), value);
    symlinkSync(stamp, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    for (const key of Object.keys(data)) {
      try {
        symlinkSync(join('..data', key), join(this.dir, key));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    if (previous !== undefined) rmSync(join(this.dir, previous), { recursive: true, force: true });
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
