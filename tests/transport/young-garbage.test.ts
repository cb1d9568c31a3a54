import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { rpc } from '../support/rpc.js';
import { startService } from '../support/service-process.js';
import type { ServiceProcess } from '../support/service-process.js';
import { waitFor } from '../support/wait.js';

// Under load a request that outlives a young collection is copied, then promoted, and the
// old generation fills with dead requests: the young collections grow slow and full ones
// come every few dozen milliseconds. What keeps a finished request alive through a young
// collection is an object of the old generation pointing at it (a young collection takes
// every such pointer as a root): a getter in an object literal did that (V8 keeps it in an
// accessor pair allocated in the old generation), for every request. A spread followed by a
// property it did not bring builds a hidden class per object, in the old generation, whose
// descriptors are promoted (see src/model/with-fields.ts).
//
// The whole path of a message-only SendMessage runs in a real service, authentication on:
// the answer is a direct Message, so nothing of a request has a reason to outlive it. The
// young collections' trace starts after a warm-up (the preload turns it on at SIGUSR2), and
// what they promoted over the next requests is added up once the service has stopped (V8
// writes the trace through C stdio, flushed at exit). Measured: some 45 bytes a request
// (what one request in flight when a collection comes leaves, shared out); about 3,000 when
// the routing context kept every request; one spread more on the path, about 170.
const YOUNG_GC_TRACE_ON = 'young collections traced from here on';
const PRELOAD = new URL('../support/young-gc-trace-preload.js', import.meta.url).href;
const WARM_UP = 1000;
const MEASURED = 3000;
const MOST_PROMOTED_PER_REQUEST = 100;

const KEY = 'a-key-of-at-least-sixteen-characters';

test('a message-only SendMessage through the service promotes next to nothing: the requests die young', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kagent-young-garbage-'));
  const keysDir = join(dir, 'keys');
  mkdirSync(keysDir);
  writeFileSync(join(keysDir, 'alice'), KEY);
  let service: ServiceProcess | undefined;
  try {
    service = await startService(join(dir, 'data'), {
      CONFORMANCE_AGENT: 'true',
      AUTH_MODE: 'apikey',
      AUTH_API_KEYS_DIR: keysDir,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${PRELOAD}`.trim(),
    });
    const headers = { 'A2A-Version': '1.0', authorization: `Bearer ${KEY}` };
    const send = async (n: number) => {
      const message = { role: 'ROLE_USER', messageId: `tck-message-response-${n}`, parts: [{ text: 'hi' }] };
      const { status, body } = await rpc(service!.url, 'SendMessage', { message }, headers);
      assert.equal(status, 200);
      assert.ok(body.result?.message !== undefined, `request ${n} was not answered with a message: ${JSON.stringify(body)}`);
    };
    for (let n = 0; n < WARM_UP; n++) await send(n);
    service.child.kill('SIGUSR2');
    await waitFor('the service to start tracing its collections', () => service!.output().includes(YOUNG_GC_TRACE_ON));
    for (let n = WARM_UP; n < WARM_UP + MEASURED; n++) await send(n);
    service.child.kill('SIGTERM');
    assert.equal((await service.waitExit()).code, 0);
    const traced = service.output().split(YOUNG_GC_TRACE_ON)[1]!;
    let promoted = 0;
    let collections = 0;
    for (const line of traced.split('\n')) {
      if (!/\bgc=s\b/.test(line)) continue;
      collections++;
      promoted += Number(/\bpromoted=(\d+)/.exec(line)?.[1] ?? Number.NaN);
    }
    assert.ok(collections > 0, `no young collection over ${MEASURED} requests:\n${traced.slice(0, 2000)}`);
    const perRequest = promoted / MEASURED;
    assert.ok(
      perRequest < MOST_PROMOTED_PER_REQUEST,
      `${collections} young collections promoted ${promoted} bytes over ${MEASURED} requests: ${perRequest.toFixed(0)} a request, more than ${MOST_PROMOTED_PER_REQUEST}`,
    );
  } finally {
    await service?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
