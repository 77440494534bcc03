#!/usr/bin/env node
// Where the verifier's time goes on one output: generates an H.264 clip, encodes it with the
// argument list conform's encoder builds for a default HEVC plan (libx265 on this machine),
// then runs the verifier on the pair and prints each ffmpeg/ffprobe child it started, with
// when it ran and its CPU time (read from /proc every 10 ms). A component figure; e2e.mjs is
// the user's path. Asserts nothing; exits non-zero only when it could not measure.
// Usage (after the build): node services/verifier/bench/passes.mjs [seconds=20] [height=1080] [runs=1] [ranges]
// (ranges: how many ranges the decode pass may be split into; default one per core, 1 = one run)
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateClip, probeMedia, probeVideoColour, runFfmpeg } from '@conform/media';
import {
  buildEncodeArgs,
  chooseEncoder,
  detectEncodersOnce,
  encodeSettingsFor,
} from '@conform/encoder';

// VERIFIER_DIST=/other/checkout/services/verifier/dist/src/index.js times another build (A/B).
const { verifyOutput } = await import(
  process.env.VERIFIER_DIST ?? new URL('../dist/src/index.js', import.meta.url).href
);
const seconds = Number(process.argv[2] ?? 20);
const height = Number(process.argv[3] ?? 1080);
const runs = Number(process.argv[4] ?? 1);
const ranges = process.argv[5] === undefined ? undefined : Number(process.argv[5]);
if (![seconds, height, runs, ranges ?? 1].every((n) => Number.isInteger(n) && n > 0)) {
  console.error(
    'usage: passes.mjs [seconds=20] [height=1080] [runs=1] [ranges] (positive integers)',
  );
  process.exit(2);
}
const width = Math.round((height * 16) / 9 / 2) * 2;
const dir = await mkdtemp(join(tmpdir(), 'conform-bench-passes-'));
const say = (s) => console.log(s);
try {
  const library = dir;
  const path = join(dir, 'source.mkv');
  const outputPath = join(dir, '.conform-work', 'output.mkv');
  say(`generating a ${seconds} s ${width}x${height} H.264 clip and encoding it as conform would`);
  await generateClip({ path, width, height, durationSec: seconds });
  const target = { videoCodec: 'hevc', container: 'mkv' };
  const { profile } = chooseEncoder('hevc', await detectEncodersOnce());
  const settings = encodeSettingsFor(target, profile, await probeVideoColour(path));
  await mkdir(join(dir, '.conform-work'));
  const t = performance.now();
  await runFfmpeg(buildEncodeArgs({ inputPath: path, outputPath, ...settings }), {
    durationSec: seconds,
  });
  say(`encode (${profile.encoder ?? 'hevc'}): ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const st = await stat(path);
  const completed = {
    library,
    path,
    outputPath,
    source: { size: st.size, mtimeMs: st.mtimeMs },
    target,
    encoder: profile.encoder ?? 'libx265',
    outputSize: (await stat(outputPath)).size,
    elapsedMs: 1,
    // The plan's duration, as conform's encode.completed carries it (the planner's probe).
    durationSec: (await probeMedia(path)).durationSec ?? undefined,
  };
  const cpus = [];
  for (let run = 1; run <= runs; run++) {
    say(
      `\nrun ${run}, load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    const children = watchChildren();
    const before = familyTicks();
    const t0 = performance.now();
    const outcome = await verifyOutput(
      completed,
      ranges === undefined ? {} : { decodeRanges: ranges },
    );
    const wall = (performance.now() - t0) / 1000;
    const exactSec = (familyTicks() - before) / 100;
    const seen = children.stop();
    let cpu = 0;
    for (const c of seen) {
      cpu += c.cpuSec;
      say(
        `  ${c.label.padEnd(34)} nice ${String(c.nice).padStart(2)} ${((c.first - t0) / 1000).toFixed(2).padStart(6)} → ` +
          `${((c.last - t0) / 1000).toFixed(2).padStart(6)} s   CPU ${c.cpuSec.toFixed(2)} s`,
      );
    }
    const passed = outcome.checks.every((c) => c.passed);
    say(
      `  verification: ${wall.toFixed(2)} s wall, ${cpu.toFixed(2)} s CPU of its processes ` +
        `(exact, from the exited ones' accounting: ${exactSec.toFixed(2)} s), passed ${passed}`,
    );
    say(
      `  SSIM segments: ${(outcome.ssimSegments ?? []).map((s) => `${s.startSec} s (${s.ssim})`).join(', ')}`,
    );
    say(`  decode: ${outcome.decode?.reason ?? '-'}`);
    cpus.push(cpu);
  }
  // One figure for the table: the median run (each run is printed above).
  const median = [...cpus].sort((a, b) => a - b)[Math.floor((cpus.length - 1) / 2)];
  console.log(
    `BENCH_RESULT ${JSON.stringify({
      id: `verify.passes.cpu_seconds_${height}p_${seconds}s`,
      figure: `the verifier's CPU time on one ${seconds} s ${height}p H.264 → HEVC output, median of ${runs} (component)`,
      goal: '-',
      measured: Number(median.toFixed(2)),
      unit: 's',
      ok: null,
    })}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}

/**
 * CPU ticks of every process this one started that has exited (its cutime and cstime) and of
 * its live children with theirs (the tool helpers): the verifier's processes' CPU, exactly,
 * where sampling /proc misses the ends of short ones. This process's own CPU is left out: the
 * sampling below is most of it.
 */
function familyTicks() {
  const fields = (pid) => {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  };
  const own = fields('self');
  let ticks = Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = fields(entry);
      if (Number(f[1]) !== process.pid) continue;
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // it ended while we looked
    }
  }
  return ticks;
}

/**
 * The ffmpeg/ffprobe descendants of this process (probes run from a helper process, so they are
 * grandchildren) and the helpers themselves, with their run time and CPU (from /proc).
 */
function watchChildren() {
  const seen = new Map();
  const read = () => {
    const now = performance.now();
    const parents = new Map();
    const stats = new Map();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const s = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
        parents.set(entry, f[1]);
        stats.set(entry, f);
      } catch {
        // it ended while we looked
      }
    }
    const isDescendant = (pid) => {
      for (let p = parents.get(pid), hops = 0; p && hops < 8; p = parents.get(p), hops++) {
        if (Number(p) === process.pid) return true;
      }
      return false;
    };
    for (const [entry, f] of stats) {
      if (!isDescendant(entry)) continue;
      try {
        let known = seen.get(entry);
        if (!known) {
          const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').slice(0, -1);
          // A fork not yet exec'd shows its parent's command line: looked at again later.
          const helper = args.some((a) => a.endsWith('/spawner.js'));
          if (/(^|\/)node$/.test(args[0] ?? '') && !helper) continue;
          known = {
            first: now,
            label: helper ? 'tool helper (node)' : labelOf(args),
            nice: Number(f[16]),
            // A helper started before this run: only its CPU from here on counts.
            base: helper ? (Number(f[11]) + Number(f[12])) / 100 : 0,
          };
          seen.set(entry, known);
        }
        known.cpuSec = (Number(f[11]) + Number(f[12])) / 100 - known.base;
        known.last = now;
      } catch {
        // it ended while we looked
      }
    }
  };
  const timer = setInterval(read, 10);
  return {
    stop() {
      clearInterval(timer);
      read();
      return [...seen.values()].sort((a, b) => a.first - b.first);
    },
  };
}

function labelOf(args) {
  const tool = (args[0] ?? '').split('/').at(-1);
  const file = (args.at(-1) === '-' ? args[args.indexOf('-i') + 1] : args.at(-1)) ?? '';
  const name = file.split('/').at(-1);
  if (args.includes('-copyts')) {
    const ss = args.indexOf('-ss');
    return `decode + SSIM, range from ${ss === -1 ? 'the start' : `${args[ss + 1]} s`}`;
  }
  if (args.includes('-filter_complex') && args.join(' ').includes('movie=')) {
    return 'decode + SSIM (one pass)';
  }
  if (args.includes('-filter_complex')) return `SSIM segment at ${args[args.indexOf('-ss') + 1]}`;
  if (tool === 'ffmpeg') return `decode ${name}`;
  if (args.includes('-read_intervals') && args.includes('-show_streams')) {
    return `probe ${name} (+ boundary windows)`;
  }
  if (args.includes('-read_intervals')) return `keyframes ${name}`;
  if (args.includes('packet=flags') || args.includes('packet=pts_time,flags')) {
    return `packet list ${name}`;
  }
  return `probe ${name}`;
}
