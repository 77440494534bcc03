import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { MultiBar, type SingleBar } from 'cli-progress';
import { UsageError } from '../errors.js';
import { defaultStatusUrl, getStatusJson } from './status-api.js';

/** The part of /api/summary the terminal shows. */
export interface SummaryBody {
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
    fileId: string;
    path: string;
    encoder: string;
    progress: {
      percent: number | null;
      fps: number | null;
      etaSec?: number | null;
      node?: string | null;
    } | null;
  }[];
  libraries: { library: string; percent: number }[];
}

/** A text bar of `width` cells, e.g. `[#####.....]  50%`. */
export function bar(percent: number | null, width = 30): string {
  if (percent === null) return `[${'?'.repeat(width)}]   ?%`;
  const filled = Math.round((Math.max(0, Math.min(100, percent)) / 100) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(percent)).padStart(3)}%`;
}

/** `   not judged: 2 kept (no saving), 1 damaged`, or nothing when every file could be judged. */
function notJudged(excluded: Record<string, number> | undefined): string {
  const parts = Object.entries(excluded ?? {})
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}${k === 'kept' ? ' (no saving)' : ''}`);
  return parts.length ? `   not judged: ${parts.join(', ')}` : '';
}

/** The first two lines: totals (and what compliance leaves out), then the count per status. */
export function summaryHead(s: SummaryBody): [string, string] {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return [
    `files ${s.total}   compliance ${s.compliance.percent}% (${s.compliance.conforming}/${s.compliance.judged})   saved ${mib(s.bytesSaved)}   queued ${s.queueDepth}   dead letters ${s.deadLetters}${notJudged(s.compliance.excluded)}`,
    Object.entries(s.counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'no files yet',
  ];
}

/** The summary as terminal text. */
export function formatSummary(s: SummaryBody): string {
  const lines: string[] = [...summaryHead(s)];
  for (const l of s.libraries) lines.push(`${bar(l.percent, 20)} ${l.library}`);
  if (s.activeEncodes.length) lines.push('encoding:');
  for (const a of s.activeEncodes) {
    const fps = a.progress?.fps ? ` ${a.progress.fps} fps` : '';
    lines.push(`  ${bar(a.progress?.percent ?? null)}${fps}  ${a.path} (${a.encoder})`);
  }
  return lines.join('\n');
}

/** The part of /api/nodes the terminal shows. */
export interface NodesBody {
  nodes: {
    node: string;
    state: string;
    lost: boolean;
    paused: boolean;
    ageSec: number;
    devices: { backend: string; slots: number; inUse: number }[];
    pools?: string[];
    maxFileSizeBytes?: number;
  }[];
  /** Absent from servers older than size classes. */
  unserved?: { pool: string; sizeClass: string | null; jobs: number; why: string }[];
}

const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GiB`;

/** One line per encoder node, then the queued work no live node can take. */
export function formatNodes(body: NodesBody): string[] {
  const lines: string[] = [];
  if (body.nodes.length) lines.push('nodes:');
  for (const n of body.nodes) {
    const state = n.lost ? 'lost' : n.state === 'running' && n.paused ? 'paused' : n.state;
    const devices = n.devices.map((d) => `${d.backend} ${d.inUse}/${d.slots}`).join(', ');
    const max = n.maxFileSizeBytes ? `max file ${gib(n.maxFileSizeBytes)}` : 'any file size';
    const pools = n.pools?.length ? `pools ${n.pools.join(',')}` : 'no pools';
    lines.push(
      `  ${n.node}  ${state}  ${devices}  ${pools}  ${max}  beat ${n.ageSec} s ago`.trimEnd(),
    );
  }
  const unserved = body.unserved ?? [];
  if (unserved.length) lines.push('waiting for a node that can take them:');
  for (const u of unserved) {
    lines.push(
      `  ${u.jobs} job(s) in ${u.pool}${u.sizeClass ? ` (${u.sizeClass})` : ''}: ${u.why}`,
    );
  }
  return lines;
}

/** Registers `conform status`. */
export function register(program: Command): void {
  program
    .command('status')
    .description('the status summary in the terminal, with progress bars for running encodes')
    .option('--url <url>', 'status server URL', defaultStatusUrl())
    .option('--json', 'print /api/summary as JSON')
    .option('--watch', 'redraw the summary and live progress bars until Ctrl-C')
    .option('--interval <ms>', 'how often --watch redraws', '1000')
    .action(async (flags: { url: string; json?: boolean; watch?: boolean; interval: string }) => {
      if (flags.watch) {
        const intervalMs = Number(flags.interval);
        if (!Number.isInteger(intervalMs) || intervalMs < 100) {
          throw new UsageError(
            `--interval must be a whole number of ms ≥ 100, got "${flags.interval}"`,
          );
        }
        if (flags.json) throw new UsageError('--watch draws for a person; use --json without it');
        await watch(flags.url, intervalMs);
        return;
      }
      const { body } = await getStatusJson<SummaryBody>(flags.url, '/api/summary');
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
        return;
      }
      const { body: nodes } = await getStatusJson<NodesBody>(flags.url, '/api/nodes');
      process.stdout.write(`${[formatSummary(body), ...formatNodes(nodes)].join('\n')}\n`);
    });
}

/**
 * Redraws until SIGINT/SIGTERM: two summary lines, a bar per library (compliance) and a bar per
 * running encode (progress, fps, ETA, node), with cli-progress. Off a terminal it prints each
 * redraw as a block, so a pipe or a log gets the same figures.
 */
async function watch(url: string, intervalMs: number): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const multibar = new MultiBar({
    // cli-progress writes to stderr by default; the summary is the command's output.
    stream: process.stdout,
    format: ' {bar} {percentage}% {label}',
    barsize: 30,
    hideCursor: true,
    clearOnComplete: false,
    stopOnComplete: false,
    noTTYOutput: !process.stdout.isTTY,
    notTTYSchedule: intervalMs,
    autopadding: true,
    emptyOnZero: true,
  });
  const text = (line: string) => multibar.create(1, 0, { line }, { format: '{line}' });
  const head = [text(`connecting to ${url}`), text('')];
  const libraries = new Map<string, SingleBar>();
  const encodes = new Map<string, SingleBar>();
  /** Keeps one bar per key of `wanted`, removing bars whose key went away. */
  const sync = (bars: Map<string, SingleBar>, wanted: Map<string, [number, object]>) => {
    for (const [key, b] of bars) {
      if (!wanted.has(key)) {
        multibar.remove(b);
        bars.delete(key);
      }
    }
    for (const [key, [value, payload]] of wanted) {
      const existing = bars.get(key);
      if (existing) existing.update(value, payload);
      else bars.set(key, multibar.create(100, value, payload));
    }
  };
  try {
    while (!stop.signal.aborted) {
      try {
        const { body: s } = await getStatusJson<SummaryBody>(url, '/api/summary');
        const [first, second] = summaryHead(s);
        head[0]!.update(0, { line: first });
        head[1]!.update(0, { line: second });
        sync(
          libraries,
          new Map(
            s.libraries.map((l) => [l.library, [l.percent, { label: `compliant  ${l.library}` }]]),
          ),
        );
        sync(
          encodes,
          new Map(
            s.activeEncodes.map((a) => {
              const p = a.progress;
              const fps = p?.fps ? `${p.fps} fps` : '? fps';
              const eta = p?.etaSec != null ? `ETA ${Math.round(p.etaSec)}s` : 'ETA ?';
              const label = `${fps}  ${eta}  ${a.path} (${a.encoder}${p?.node ? ` on ${p.node}` : ''})`;
              return [a.fileId, [p?.percent ?? 0, { label }]];
            }),
          ),
        );
      } catch (err) {
        // A restart of conform must not end the watch: say so and try again.
        head[0]!.update(0, { line: `${(err as Error).message} (retrying)` });
      }
      await sleep(intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    multibar.stop();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
