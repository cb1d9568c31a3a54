#!/usr/bin/env node
import { VERSION } from '../version.js';
import { CLIENT_COMMANDS, EXIT, clientUsage, commandHelp, runClientCommand } from './client-commands.js';

const USAGE = `kagent-a2a — the kagent A2A agent service

Usage:
  kagent-a2a serve [--port N] [--host H] [--data-dir DIR] [--config FILE] [--conformance]
${clientUsage()}
  kagent-a2a help [COMMAND]
  kagent-a2a --version

Client commands take the agent's base URL (the one serving /.well-known/agent-card.json;
a pasted card URL works too). "kagent-a2a COMMAND --help" explains a command.
--json prints the A2A 1.0 wire objects (one per line for a stream of events).
Exit codes: 0 ok, 1 the agent answered with an error, 2 usage, 3 agent unreachable, 4 malformed answer.

Settings come from flags, then environment variables (PORT, HOST, DATA_DIR,
LOG_LEVEL, …), then the --config file, then defaults; the first one found wins.
Run "kagent-a2a serve --help" for every setting.`;

/**
 * A reader that stops early (`kagent-a2a tasks URL --json | head -1`) closes the
 * pipe: that is the reader's choice, not a failure, so the command stops quietly
 * instead of dying on EPIPE. Not for `serve`, whose logs must not end it.
 */
function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(EXIT.ok);
      throw error;
    });
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'serve') quietOnClosedPipe();
  switch (command) {
    case 'serve':
      // Loaded on demand: the client commands start without the whole server.
      return (await import('./serve.js')).serve(rest);
    case '--version':
    case '-V':
      console.log(`kagent-a2a ${VERSION}`);
      return EXIT.ok;
    case undefined:
      console.error(USAGE);
      return EXIT.usage;
    case 'help':
    case '--help':
    case '-h':
      return help(rest[0]);
    default:
      if (CLIENT_COMMANDS.includes(command)) return runClientCommand(command, rest);
      console.error(`kagent-a2a: unknown command "${command}"\n\n${USAGE}`);
      return EXIT.usage;
  }
}

async function help(command: string | undefined): Promise<number> {
  if (command === undefined) console.log(USAGE);
  else if (command === 'serve') console.log((await import('./serve.js')).serveHelp());
  else if (CLIENT_COMMANDS.includes(command)) console.log(commandHelp(command));
  else {
    console.error(`kagent-a2a help: unknown command "${command}"; the commands are serve, ${CLIENT_COMMANDS.join(', ')}`);
    return EXIT.usage;
  }
  return EXIT.ok;
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
