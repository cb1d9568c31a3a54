import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { within } from './wait.js';
import { PATIENCE_MS } from './patience.js';

const PROCESS = fileURLToPath(new URL('./push-receiver-process.js', import.meta.url));

export type ReceiverMode = 'ok' | 'fail' | 'hang' | 'redirect';

/** One delivery the receiver took, with the headers push deliveries carry. */
export interface Received {
  path: string;
  contentType: string;
  authorization?: string;
  token?: string;
  goToken?: string;
  deliveryId: string;
  /** A2A-Notification-Signature, when deliveries are signed. */
  signature?: string;
  /** SHA-256 (hex) of the body as it arrived. */
  bodySha256: string;
  body: any;
}

/** A webhook receiver in a process of its own, on a port chosen before it runs (so kagent can be told it while it is down). */
export class PushReceiver {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(port: number, mode: ReceiverMode = 'ok'): Promise<PushReceiver> {
    const child = spawn(process.execPath, [PROCESS], { env: { ...process.env, PORT: String(port), MODE: mode }, stdio: ['ignore', 'pipe', 'inherit'] });
    await within(PATIENCE_MS, 'the push receiver to listen', once(child.stdout!, 'data'));
    return new PushReceiver(child, port);
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async received(): Promise<Received[]> {
    return (await (await fetch(`${this.base}/received`)).json()) as Received[];
  }

  async setMode(mode: ReceiverMode): Promise<void> {
    await (await fetch(`${this.base}/mode`, { method: 'POST', body: mode })).arrayBuffer();
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** The webhook URL of a receiver on `port`, running or not. */
export function hookUrl(port: number, path = '/hook'): string {
  return `http://127.0.0.1:${port}${path}`;
}
