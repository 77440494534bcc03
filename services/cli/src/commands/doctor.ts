import type { Command } from 'commander';
import { chooseEncoder, detectEncoders } from '@conform/encoder';

/** Registers `conform doctor`. */
export function register(program: Command): void {
  program
    .command('doctor')
    .description('show which encoders really work here (trial encodes) and which each codec uses')
    .option('--json', 'print the findings as JSON')
    .action(async (flags: { json?: boolean }) => {
      const found = await detectEncoders();
      const choices = (['hevc', 'h264', 'av1'] as const).map((codec) => {
        try {
          const c = chooseEncoder(codec, found);
          return { codec, encoder: c.profile.encoder, reason: c.reason };
        } catch (err) {
          return { codec, encoder: null, reason: (err as Error).message };
        }
      });
      if (flags.json) {
        process.stdout.write(JSON.stringify({ encoders: found, choices }, null, 2) + '\n');
        return;
      }
      const out = ['encoders (ffmpeg -encoders, then a trial encode):'];
      for (const e of found) {
        const mark = e.works ? 'ok  ' : e.compiled ? 'FAIL' : '--  ';
        out.push(`  ${mark} ${e.encoder.padEnd(11)} ${e.backend.padEnd(6)} ${e.reason}`);
      }
      out.push('', 'each codec is encoded with:');
      for (const c of choices)
        out.push(`  ${c.codec.padEnd(5)} ${c.encoder ?? 'none'}  (${c.reason})`);
      process.stdout.write(out.join('\n') + '\n');
    });
}
