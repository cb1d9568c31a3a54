// Loaded with `--import` into a spawned service (see tests/transport/young-garbage.test.ts):
// on SIGUSR2 V8 starts tracing every collection (`--trace-gc-nvp`, to stdout), so that what
// the young collections promote can be added up over the requests a test sends from then on.
import { setFlagsFromString } from 'node:v8';

process.on('SIGUSR2', () => {
  setFlagsFromString('--trace-gc-nvp');
  process.stdout.write(`${YOUNG_GC_TRACE_ON}\n`);
});

export const YOUNG_GC_TRACE_ON = 'young collections traced from here on';
