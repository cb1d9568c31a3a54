/**
 * Reads an async sequence to its end, failing after `ms` with what had arrived:
 * a stream that never ends fails the caller instead of hanging it. On the
 * deadline the reading is stopped, so the source under it does not outlive it.
 */
export async function readAll<T>(items: AsyncIterable<T>, ms: number, what = 'the stream to end'): Promise<T[]> {
  const all: T[] = [];
  const iterator = items[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}; got ${all.length} items: ${JSON.stringify(all).slice(0, 500)}`)), ms);
  });
  const reading = (async () => {
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) all.push(next.value);
    return all;
  })();
  try {
    return await Promise.race([reading, timeout]);
  } catch (error) {
    // A source that never ends may never settle its return() either: ask, do not wait.
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
    reading.catch(() => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
