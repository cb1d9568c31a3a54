#!/usr/bin/env node
import { CLIENT_COMMANDS, clientUsage, runClientCommand } from './client-commands.js';
import { serve } from './serve.js';

const USAGE = `kagent-a2a — the kagent A2A agent service

Usage:
  kagent-a2a serve [--port N] [--host H] [--data-dir DIR] [--config FILE] [--conformance]
${clientUsage()}
  kagent-a2a help

Client commands take the agent's base URL (the one serving /.well-known/agent-card.json).
Exit codes: 0 ok, 1 the agent answered with an error, 2 usage, 3 agent unreachable, 4 malformed answer.

Settings come from flags, then environment variables (PORT, HOST, DATA_DIR,
LOG_LEVEL, …), then the --config file, then defaults; the first one found wins.
Run "kagent-a2a serve --help" for every setting.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      if (CLIENT_COMMANDS.includes(command)) return runClientCommand(command, rest);
      console.error(`kagent-a2a: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`kagent-a2a: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
