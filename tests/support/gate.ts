// A gate: a loopback HTTP server the test owns, at which runs of the gated
// skill (gated-skill.ts) wait. A test that needs a task still running holds it
// here for as long as it likes and releases it when it has seen what it came
// for; no test waits on the clock for a task to be "probably still working".
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PATIENCE_MS } from './patience.js';
import { GATED_SKILL, installGatedSkill } from './gated-skill.js';
import { deferred, within } from './wait.js';

/** Environment for startService: the spawned service offers the gated skill too. */
export const GATED_SERVICE_ENV: Record<string, string> = {
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${new URL('./gated-skill-preload.js', import.meta.url).href}`.trim(),
};

export type Outcome = 'complete' | 'fail';

/** One held run: what to send, and the test's view of and hand on the skill running it. */
export interface GatedRun {
  /** Message metadata that sends the message to the gated skill, held at this run's gate. */
  readonly metadata: { skill: string; gate: string };
  /** Resolves with the task id once the skill runs and has reported its task working (fails after PATIENCE_MS). */
  started(): Promise<string>;
  /** Resolves once the skill has seen its abort signal fire (fails after PATIENCE_MS). */
  aborted(): Promise<void>;
  /** Whether the skill has seen its abort signal fire, so far. */
  readonly wasAborted: boolean;
  /** How often the skill has started on this run (a resumed task starts again). */
  readonly starts: number;
  /** Has the skill report progress: a working status with this text (in order, before any release). */
  say(text: string): void;
  /** Lets the skill finish (after what it was told to say): complete with its message echoed as artifact `echo`, or fail. */
  release(outcome?: Outcome): void;
}

/** The gate's side of one run. */
class RunState {
  readonly started = deferred<string>();
  readonly aborted = deferred<void>();
  startCount = 0;
  abortedYet = false;
  /** Instructions not yet handed to the skill (`say:<text>`), answered to its waits in order. */
  readonly queue: string[] = [];
  /** Once set, answers every wait the queue does not: a run that starts again (a resumed task) finishes the same way. */
  outcome: Outcome | undefined;
  /** The skill's waits not answered yet. */
  readonly waiting: ServerResponse[] = [];

  constructor() {
    // Never left unhandled: a test that does not wait on them must not fail for it.
    this.started.promise.catch(() => undefined);
    this.aborted.promise.catch(() => undefined);
  }

  deliver(): void {
    while (this.waiting.length > 0 && (this.queue.length > 0 || this.outcome !== undefined)) {
      this.waiting.shift()!.end(this.queue.shift() ?? this.outcome);
    }
  }
}

export class Gate {
  private readonly runs = new Map<string, RunState>();
  private counter = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** Starts a gate; agents started in this process from now on offer the gated skill. */
  static async start(): Promise<Gate> {
    installGatedSkill();
    let gate: Gate | undefined;
    const server = createServer((req, res) => gate!.handle(req.method ?? 'GET', req.url ?? '/', res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    gate = new Gate(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return gate;
  }

  /** A new run to send a message to. */
  run(): GatedRun {
    const key = `run-${++this.counter}`;
    const state = new RunState();
    this.runs.set(key, state);
    return {
      metadata: { skill: GATED_SKILL, gate: `${this.url}/${key}` },
      started: () => within(PATIENCE_MS, `the gated skill to start run ${key}`, state.started.promise),
      aborted: () => within(PATIENCE_MS, `the gated skill to see run ${key} aborted`, state.aborted.promise),
      get wasAborted() {
        return state.abortedYet;
      },
      get starts() {
        return state.startCount;
      },
      say: (text: string) => {
        state.queue.push(`say:${text}`);
        state.deliver();
      },
      release: (outcome: Outcome = 'complete') => {
        state.outcome = outcome;
        state.deliver();
      },
    };
  }

  /** Stops the gate; runs still waiting see their wait fail. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(method: string, path: string, res: ServerResponse): void {
    const url = new URL(path, this.url);
    const [, key, action] = url.pathname.split('/');
    const state = this.runs.get(key ?? '');
    if (state === undefined) return void res.writeHead(404).end();
    if (method === 'POST' && action === 'started') {
      state.startCount++;
      state.started.resolve(url.searchParams.get('task') ?? '');
      return void res.writeHead(204).end();
    }
    if (method === 'POST' && action === 'aborted') {
      state.abortedYet = true;
      state.aborted.resolve();
      return void res.writeHead(204).end();
    }
    if (method === 'GET' && action === 'wait') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      // Headers go out at once; the body (the outcome) when the test releases the run.
      res.flushHeaders();
      state.waiting.push(res);
      res.on('close', () => {
        const at = state.waiting.indexOf(res);
        if (at >= 0) state.waiting.splice(at, 1);
      });
      state.deliver();
      return;
    }
    res.writeHead(404).end();
  }
}
