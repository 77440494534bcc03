import { resolve } from 'node:path';
import type { Command } from 'commander';
import { prepareDemoLibrary } from '../demo-library.js';
import { connectionOptions, logger, runUntilSignalled } from '../lifecycle.js';
import { SERVICE_NAMES } from '../runtime.js';
import { resolveSettings, type RawFlags } from '../settings.js';

/** Registers `conform demo`. */
export function register(program: Command): void {
  connectionOptions(
    program
      .command('demo')
      .description('make a demo library of generated clips and run conform on it')
      .option('--dir <dir>', 'where the demo library, archive and state go', 'demo'),
  ).action(async (flags: RawFlags & { dir: string }) => {
    const dir = resolve(flags.dir);
    const say = (line: string) => process.stderr.write(line + '\n');
    say(`conform demo: preparing ${dir}/library`);
    const demo = await prepareDemoLibrary(dir, say);
    const settings = resolveSettings({
      ...flags,
      library: demo.library,
      archive: demo.archive,
      stateDir: flags.stateDir ?? demo.stateDir,
      stabilityWindow: flags.stabilityWindow ?? '2000',
    });
    await runUntilSignalled(settings, SERVICE_NAMES, logger(), (running) => {
      say('');
      say(`conform is running on the demo library. Look at:`);
      say(`  ${running.statusUrl}/api/summary   counts per status`);
      say(`  ${running.statusUrl}/api/files     every file and its status`);
      say(`  ${demo.library}    the library (H.264 files become HEVC in place)`);
      say(`  ${demo.archive}    the archived originals, byte for byte`);
      say(`Drop more videos into the library to see them processed. Ctrl-C stops everything.`);
      say('');
    });
  });
}
