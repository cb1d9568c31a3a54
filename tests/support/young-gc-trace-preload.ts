// Loaded with `--import` into a spawned service by tests/transport/young-garbage.test.ts:
// on SIGUSR2 V8 starts tracing every collection (`--trace-gc-nvp`, to stdout), so that what
// the young collections promote can be added up over the requests the test sends from then
// on. The line written then is the one the test waits for, and splits the output at.
import { setFlagsFromString } from 'node:v8';

process.on('SIGUSR2', () => {
  setFlagsFromString('--trace-gc-nvp');
  process.stdout.write('young collections traced from here on\n');
});
