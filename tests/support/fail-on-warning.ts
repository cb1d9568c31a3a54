// Loaded into every test process (`npm test` passes it to `node --test` with
// --import): a process warning (a timer that overflowed, a listener leak, a
// deprecated call) fails the test that was running, or the file when it comes
// after the last test. Node prints warnings and carries on; a test run must not.

process.on('warning', (warning) => {
  process.exitCode = 1;
  throw new Error(`process warning: ${warning.name}: ${warning.message}`);
});
