// Entry point of the `tidings` binary (bin/tidings.js imports the compiled form of this file).
import { CommanderError } from 'commander';
import { createProgram, describeFailure } from './program.js';

const io = { stdout: process.stdout, stderr: process.stderr, env: process.env };

try {
  await createProgram(io).parseAsync(process.argv);
} catch (error) {
  // Commander has already printed its own usage errors; --help and --version exit with 0.
  if (error instanceof CommanderError) process.exit(error.exitCode);
  process.stderr.write(describeFailure(error));
  process.exit(1);
}
