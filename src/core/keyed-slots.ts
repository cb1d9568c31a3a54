/**
 * At most `max` concurrent holders per key (open streams per principal). Only
 * keys holding a slot are kept, so the map is bounded by what is in use.
 */
export class KeyedSlots {
  private readonly held = new Map<string, number>();

  constructor(readonly max: number) {}

  /** A release function, or undefined when the key already holds `max` slots. Releasing twice is harmless. */
  tryAcquire(key: string): (() => void) | undefined {
    const count = this.held.get(key) ?? 0;
    if (count >= this.max) return undefined;
    this.held.set(key, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(key) ?? 1) - 1;
      if (left <= 0) this.held.delete(key);
      else this.held.set(key, left);
    };
  }

  count(key: string): number {
    return this.held.get(key) ?? 0;
  }
}
