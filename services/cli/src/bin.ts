#!/usr/bin/env -S CONFORM_CALLER_MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX} MALLOC_ARENA_MAX=2 node --max-semi-space-size=8
// The line above is how `conform` (this file run as a program: the npm bin, the container's
// /usr/local/bin/conform, `npm run conform`) starts Node: with a young generation of 8 MiB
// semi-spaces instead of V8's 16, which only a start flag can size (it grows to its maximum while
// the modules load). `conform up` over 100,000 files peaked at 274 MB resident with 16 and
// 236 MB with 8, the CPU time within the noise (docs/benchmarks/discovery.md). Run through
// `node [flags] bin.js`, Node's and the user's flags apply instead. MALLOC_ARENA_MAX=2: glibc gives
// each thread (the prober's, libuv's pool) a malloc arena of its own, up to 8 per core, and the
// memory freed in them stays resident; with two (and heap-settings.ts's growth), 100,000 files
// peaked at 215 MB twice instead of 255-259 MB (docs/benchmarks/discovery.md, round 5). The
// caller's own value is recorded beside it and given back to conform's children (heap-settings.ts).
// First: sets conform's heap growth before anything else allocates (see heap-settings.ts).
import './heap-settings.js';
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerCommands } from './commands/index.js';
import { ConformError } from '@conform/contracts';
import { exitCodeOf } from './errors.js';

// The only place errors become exit codes: every command throws typed errors.

const program = new Command()
  .name('conform')
  .description(
    'Keeps a video library conforming to a quality policy, one verified event at a time.',
  )
  .version(packageVersion(), '-V, --version', 'print the conform version')
  .showHelpAfterError();
// Only the command being run is loaded (see commands/index.ts).
await registerCommands(program, process.argv.slice(2));

program.parseAsync(process.argv).then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof ConformError) {
      process.stderr.write(`conform: ${err.message}\n`);
      process.exit(exitCodeOf(err));
    }
    process.stderr.write(`conform: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);

/** The version in the CLI's package.json (dist/src/bin.js → ../../package.json). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
