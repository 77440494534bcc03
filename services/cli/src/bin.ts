#!/usr/bin/env node
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
