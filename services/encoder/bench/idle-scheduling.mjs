#!/usr/bin/env node
// A/B of how an encode's scheduling slows what runs beside it: the wall time of a verification's
// decode (an HEVC output decoded in two halves at once at normal priority, as the verifier's
// ranges do) alone, beside a libx265 encode at niceness 19, and beside the same encode at 19
// under SCHED_IDLE as well (what conform's encodes use where it works: runFfmpeg's `idle`). The
// encode runs as conform runs it (runFfmpeg: its own session, autogroup niced). Rounds rotate
// the order; prints each round and the median per case.
// Usage (after the build): node services/encoder/bench/idle-scheduling.mjs [rounds=5] [seconds=20]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { idleSchedulingWorks, runFfmpeg } from '@conform/media';
import { DEFAULT_ENCODE_NICENESS } from '../dist/src/index.js';

const rounds = Number(process.argv[2] ?? 5);
const seconds = Number(process.argv[3] ?? 20);
const half = seconds / 2;
const quiet = ['-nostdin', '-v', 'error', '-y'];

if (!(await idleSchedulingWorks())) {
  console.error('SCHED_IDLE does not work here (chrt missing or not allowed): nothing to compare');
  process.exit(1);
}
const dir = await mkdtemp(join(tmpdir(), 'conform-idle-bench-'));
try {
  const source = join(dir, 'source.mkv');
  const output = join(dir, 'output.mkv');
  console.log(`generating ${seconds} s of 1080p H.264 and its HEVC encode`);
  await runFfmpeg([
    ...quiet,
    ...['-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=25:duration=${seconds}`],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', source],
  ]);
  await runFfmpeg([
    ...quiet,
    ...['-i', source, '-c:v', 'libx265', '-preset', 'medium', '-x265-params', 'log-level=error'],
    output,
  ]);

  /** Both halves of the output decoded at once, as the verifier's two ranges: wall seconds. */
  const decode = async () => {
    const started = performance.now();
    await Promise.all([
      runFfmpeg([...quiet, '-threads', '0', '-i', output, '-t', String(half), '-f', 'null', '-']),
      runFfmpeg([...quiet, '-threads', '0', '-ss', String(half), '-i', output, '-f', 'null', '-']),
    ]);
    return (performance.now() - started) / 1000;
  };

  /** The decode beside a long libx265 encode run as conform runs it (or alone). */
  const measure = async (mode) => {
    if (mode === 'alone') return decode();
    const stop = new AbortController();
    const encode = runFfmpeg(
      [
        ...quiet,
        ...['-stream_loop', '-1', '-i', source, '-t', '3600', '-c:v', 'libx265'],
        ...['-preset', 'medium', '-x265-params', 'log-level=error', '-f', 'null', '-'],
      ],
      { signal: stop.signal, niceness: DEFAULT_ENCODE_NICENESS, idle: mode === 'nice 19 + idle' },
    ).catch(() => undefined);
    // x265's threads up and encoding, as the next file's encode is while a verification runs.
    await new Promise((r) => setTimeout(r, 3_000));
    try {
      return await decode();
    } finally {
      stop.abort();
      await encode;
    }
  };

  const modes = ['alone', 'nice 19', 'nice 19 + idle'];
  const times = new Map(modes.map((m) => [m, []]));
  for (let round = 0; round < rounds; round++) {
    const order = modes.map((_, i) => modes[(i + round) % modes.length]);
    const line = [];
    for (const mode of order) {
      const t = await measure(mode);
      times.get(mode).push(t);
      line.push(`${mode} ${t.toFixed(2)} s`);
    }
    console.log(
      `round ${round + 1}/${rounds} (load ${loadavg()[0].toFixed(2)}): ${line.join(', ')}`,
    );
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const alone = median(times.get('alone'));
  for (const mode of modes) {
    const m = median(times.get(mode));
    console.log(
      `${mode.padEnd(16)} median ${m.toFixed(2)} s (${((m / alone - 1) * 100).toFixed(1)} % over alone)`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
