import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { DEFAULT_PORT } from '../settings.js';

/** The part of /api/summary the terminal shows. */
interface SummaryBody {
  total: number;
  counts: Record<string, number>;
  compliance: {
    percent: number;
    conforming: number;
    judged: number;
    /** Absent from servers older than the kept/damaged outcomes. */
    excluded?: Record<string, number>;
  };
  bytesSaved: number;
  queueDepth: number;
  deadLetters: number;
  activeEncodes: {
    path: string;
    encoder: string;
    progress: { percent: number | null; fps: number | null } | null;
  }[];
  libraries: { library: string; percent: number }[];
}

/** A text bar of `width` cells, e.g. `[#####.....]  50%`. */
export function bar(percent: number | null, width = 30): string {
  if (percent === null) return `[${'?'.repeat(width)}]   ?%`;
  const filled = Math.round((Math.max(0, Math.min(100, percent)) / 100) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(percent)).padStart(3)}%`;
}

/** `not judged: 2 kept (no saving), 1 damaged`, or nothing when every file could be judged. */
function excludedLine(excluded: Record<string, number> | undefined): string[] {
  const parts = Object.entries(excluded ?? {})
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}${k === 'kept' ? ' (no saving)' : ''}`);
  return parts.length ? [`not judged: ${parts.join(', ')}`] : [];
}

/** The summary as terminal text. */
export function formatSummary(s: SummaryBody): string {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  const lines = [
    `files ${s.total}   compliance ${s.compliance.percent}% (${s.compliance.conforming}/${s.compliance.judged})   saved ${mib(s.bytesSaved)}   queued ${s.queueDepth}   dead letters ${s.deadLetters}`,
    ...excludedLine(s.compliance.excluded),
    Object.entries(s.counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'no files yet',
  ];
  for (const l of s.libraries) lines.push(`${bar(l.percent, 20)} ${l.library}`);
  if (s.activeEncodes.length) lines.push('encoding:');
  for (const a of s.activeEncodes) {
    const fps = a.progress?.fps ? ` ${a.progress.fps} fps` : '';
    lines.push(`  ${bar(a.progress?.percent ?? null)}${fps}  ${a.path} (${a.encoder})`);
  }
  return lines.join('\n');
}

/** Registers `conform status`. */
export function register(program: Command): void {
  program
    .command('status')
    .description('the status summary in the terminal, with progress bars for running encodes')
    .option(
      '--url <url>',
      'status server URL',
      `http://127.0.0.1:${process.env.CONFORM_PORT ?? DEFAULT_PORT}`,
    )
    .action(async (flags: { url: string }) => {
      const res = await fetch(new URL('/api/summary', flags.url), {
        signal: AbortSignal.timeout(5_000),
      }).catch((err: unknown) => {
        throw new CliError(
          'STATUS_UNREACHABLE',
          `no status server at ${flags.url} (${(err as Error).message}); is conform up running? pass --url`,
        );
      });
      if (!res.ok) throw new CliError('STATUS_FAILED', `${flags.url} answered ${res.status}`);
      process.stdout.write(`${formatSummary((await res.json()) as SummaryBody)}\n`);
    });
}
