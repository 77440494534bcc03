#!/usr/bin/env node
// End-to-end throughput benchmark: N generated H.264 clips through `conform up` with default
// settings (discover → probe → plan → encode → verify → archive and swap) against the same
// encode argument lists run directly with ffmpeg at the encoder's concurrency. Prints what
// verification costs: its share of the encode time, its seconds per output minute, and how much
// longer the whole pipeline takes than the encodes alone. Asserts nothing; exits non-zero only
// when it could not measure.
// Usage (after the build): node services/verifier/bench/e2e.mjs [clips=4] [seconds=20] [height=1080]
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { WORK_DIR_NAME, subjectFor } from '@conform/contracts';
import { connectBus, readEvents, startNatsServer } from '@conform/bus';
import { generateClip, probeVideoColour, runFfmpeg } from '@conform/media';
import {
  buildEncodeArgs,
  chooseEncoder,
  detectEncodersOnce,
  encodeSettingsFor,
} from '@conform/encoder';

const clips = Number(process.argv[2] ?? 4);
const seconds = Number(process.argv[3] ?? 20);
const height = Number(process.argv[4] ?? 1080);
const width = Math.round((height * 16) / 9 / 2) * 2;
if (![clips, seconds, height].every((n) => Number.isInteger(n) && n > 0)) {
  console.error('usage: e2e.mjs [clips=4] [seconds=20] [height=1080] (positive integers)');
  process.exit(2);
}
const bin = resolve(import.meta.dirname, '../../cli/dist/src/bin.js');
const dir = await mkdtemp(join(tmpdir(), 'conform-bench-e2e-'));
const say = (s) => console.log(s);
const result = (id, figure, goal, measured, unit, ok) =>
  say(`BENCH_RESULT ${JSON.stringify({ id, figure, goal, measured, unit, ok })}`);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

let conform = null;
let nats = null;
let bus = null;
try {
  const library = join(dir, 'library');
  const pristine = join(dir, 'pristine');
  await mkdir(library);
  await mkdir(pristine);
  say(`generating ${clips} × ${seconds} s ${width}x${height} H.264 clips`);
  const names = Array.from({ length: clips }, (_, i) => `Film ${i + 1} (2020).mkv`);
  for (const name of names) {
    // Generated outside the library and copied in, so the watcher sees finished files only.
    await generateClip({ path: join(pristine, name), width, height, durationSec: seconds });
  }
  for (const name of names) await copyFile(join(pristine, name), join(library, name));

  nats = await startNatsServer({ storeDir: join(dir, 'nats') });
  bus = await connectBus({ servers: nats.url, name: 'bench-e2e' });
  say(`load average before: ${load()}`);

  // conform up, as a user starts it: a library and an archive, no tuning flags.
  const t0 = performance.now();
  conform = spawn(
    // The program itself, as a shell runs `conform`: its #! line gives Node conform's flags.
    bin,
    [
      'up',
      '--library',
      library,
      '--archive',
      join(dir, 'archive'),
      '--nats',
      nats.url,
      '--state-dir',
      join(dir, 'state'),
      '--port',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } },
  );
  const logs = [];
  let stderr = '';
  conform.stderr.on('data', (d) => (stderr += d.toString()));
  createInterface({ input: conform.stdout }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line));
    } catch {
      // not a log line
    }
  });
  const exited = new Promise((r) => conform.once('exit', r));
  const cpu = sampleChildCpu(conform.pid);
  // The event log exists once conform has provisioned it.
  const count = async (type) =>
    (
      await readEvents(bus, subjectFor(type, '*')).catch((err) => {
        if (err?.name === 'StreamNotFoundError') return [];
        throw err;
      })
    ).map(({ event }) => event);
  // Until every clip is replaced; a clip failed or not planned for encoding ends the run.
  let exitedWith = null;
  exited.then((code) => (exitedWith = code ?? 'a signal'));
  for (;;) {
    if (exitedWith !== null)
      throw new Error(`conform up exited ${exitedWith}: ${stderr.slice(-800)}`);
    const failed = [...(await count('verify.failed')), ...(await count('encode.failed'))];
    if (failed.length) {
      throw new Error(`conform failed a clip: ${JSON.stringify(failed[0].data).slice(0, 800)}`);
    }
    const notEncoded = firstPlans(await count('file.planned')).find(
      (e) => e.data.decision !== 'encode',
    );
    if (notEncoded) {
      throw new Error(
        `a clip was planned ${notEncoded.data.decision}, not encode: ${notEncoded.data.path}`,
      );
    }
    if ((await count('file.replaced')).length >= clips) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const conformSec = (performance.now() - t0) / 1000;
  const cpuSec = cpu.stop();
  const processes = cpu.processes();
  const slotsLine = logs.find((l) => l.msg === 'encoder slots');
  const slots = Math.max(1, Number(slotsLine?.limits?.cpu ?? 1));

  // Per clip: the encoder's own encode time, and the verifier's busy time (from the later of
  // its encode.completed and the previous verdict to its verdict: the verifier works one
  // output at a time by default, so waiting behind another output is not counted).
  const completed = await count('encode.completed');
  const verdicts = (await count('verify.passed')).sort((a, b) => a.time.localeCompare(b.time));
  // A replaced file is planned again (compliant now): the encode plan is each file's first.
  const planned = firstPlans(await count('file.planned'));
  const byId = (list) => new Map(list.map((e) => [e.fileId, e]));
  const completedById = byId(completed);
  let encodeSec = 0;
  let verifySec = 0;
  let previous = 0;
  const decodes = new Map();
  let sampled = 0;
  for (const verdict of verdicts) {
    const done = completedById.get(verdict.fileId);
    const started = Math.max(Date.parse(done.time), previous);
    verifySec += (Date.parse(verdict.time) - started) / 1000;
    previous = Date.parse(verdict.time);
    encodeSec += done.data.elapsedMs / 1000;
    const device = verdict.data.decode?.device ?? 'unrecorded';
    decodes.set(device, (decodes.get(device) ?? 0) + 1);
    sampled += (verdict.data.ssimSegments ?? []).reduce((s, g) => s + g.lengthSec, 0);
  }
  const encoder = completed[0]?.data.encoder ?? 'unknown';
  const timeline = verdicts.map((verdict, i) => {
    const done = completedById.get(verdict.fileId);
    const from =
      i === 0
        ? Date.parse(done.time)
        : Math.max(Date.parse(done.time), Date.parse(verdicts[i - 1].time));
    return {
      name: done.data.path.split('/').at(-1),
      from,
      to: Date.parse(verdict.time),
      doneAt: Date.parse(done.time),
    };
  });
  await stopConform();
  say(`load average after conform: ${load()}`);

  // Direct: the same argument lists the encoder builds for these plans, `slots` at a time.
  const availability = await detectEncodersOnce();
  const direct = join(dir, 'direct');
  await mkdir(direct);
  const jobs = planned.map((p) => {
    const name = p.data.path.slice(library.length + 1);
    return { input: join(pristine, name), output: join(direct, name), target: p.data.target };
  });
  const t1 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: slots }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        const profile = chooseEncoder(job.target.videoCodec, availability).profile;
        const colour = await probeVideoColour(job.input);
        const args = buildEncodeArgs({
          inputPath: job.input,
          outputPath: job.output,
          ...encodeSettingsFor(job.target, profile, colour),
        });
        await runFfmpeg(args, { durationSec: seconds });
      }
    }),
  );
  const directSec = (performance.now() - t1) / 1000;
  say(`load average after direct: ${load()}`);

  const outputMinutes = (verdicts.length * seconds) / 60;
  const share = verifySec / encodeSec;
  const perMinute = verifySec / outputMinutes;
  const ratio = conformSec / directSec;
  say('');
  say(`clips                                    ${clips} × ${seconds} s ${width}x${height} H.264`);
  say(`encoder, slots                           ${encoder}, ${slots}`);
  say(
    `verifier decode                          ${[...decodes].map(([d, n]) => `${d} ×${n}`).join(', ')}`,
  );
  say(`SSIM sampled per clip                    ${(sampled / verdicts.length).toFixed(2)} s`);
  say(`encode time (encoder's own, sum)         ${encodeSec.toFixed(1)} s`);
  say(`verification time (sum)                  ${verifySec.toFixed(1)} s`);
  say(`verification share of the encode         ${(share * 100).toFixed(1)} %  (goal < 10 %)`);
  say(`verification per output minute          ${perMinute.toFixed(1)} s`);
  say(
    `CPU of conform's ffmpeg/ffprobe children  encode ${cpuSec.encode.toFixed(1)} s, verify ${cpuSec.verify.toFixed(1)} s (${((cpuSec.verify / cpuSec.encode) * 100).toFixed(1)} %; sampled every 50 ms)`,
  );
  // Where each verification's time went: every process that ran during it, from its start.
  for (const t of timeline) {
    say(
      `\nverification of ${t.name}: ${((t.to - t.from) / 1000).toFixed(2)} s (encode.completed → verify.passed)`,
    );
    for (const p of processes) {
      if (p.last < t.from || p.first > t.to) continue;
      say(
        `  ${p.label.padEnd(36)} nice ${String(p.nice).padStart(2)}  ` +
          `${((p.first - t.from) / 1000).toFixed(2).padStart(7)} → ${((p.last - t.from) / 1000).toFixed(2).padStart(7)} s  CPU ${p.cpuSec.toFixed(2)} s`,
      );
    }
  }
  say('');
  say(`conform up until every clip is replaced  ${conformSec.toFixed(1)} s`);
  say(`the same encodes run directly            ${directSec.toFixed(1)} s`);
  say(`ratio                                    ${ratio.toFixed(3)}`);
  result(
    `e2e.verify_share_${encoder === 'libx265' ? 'x265' : encoder}`,
    `verification time / encode time, ${clips} × ${seconds} s ${height}p H.264 → ${encoder} (conform up)`,
    '< 10 %',
    Number((share * 100).toFixed(2)),
    '%',
    share < 0.1,
  );
  result(
    `e2e.verify_cpu_share_${encoder === 'libx265' ? 'x265' : encoder}`,
    `verifier CPU time / encoder CPU time (ffmpeg and ffprobe children of conform up; load does not skew it)`,
    '-',
    Number(((cpuSec.verify / cpuSec.encode) * 100).toFixed(2)),
    '%',
    null,
  );
  result(
    'e2e.verify_seconds_per_output_minute',
    `verification (full decode + frame count + sampled SSIM) per minute of ${height}p output`,
    '-',
    Number(perMinute.toFixed(2)),
    's',
    null,
  );
  result(
    'e2e.conform_vs_direct_ratio',
    `conform up until all ${clips} clips are replaced / the same encodes run directly`,
    '-',
    Number(ratio.toFixed(3)),
    'x',
    null,
  );
} finally {
  await stopConform().catch(() => undefined);
  await bus?.close().catch(() => undefined);
  await nats?.stop().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}

/**
 * CPU seconds of conform's child processes by role, read from /proc every 50 ms (each child's
 * last reading counts; a process shorter than that is missed, which only probes are). The
 * encoder's ffmpeg writes into the work folder; the verifier's ffmpeg reads an output there to
 * the null muxer, and its ffprobes read the output or count and seek the source's packets.
 * Every descendant counts (the probes run from a helper process, so they are grandchildren),
 * and each is kept with when it was first and last seen and its niceness: the timeline of each
 * verification printed at the end.
 */
function sampleChildCpu(parentPid) {
  const seen = new Map();
  const tick = 100; // USER_HZ on Linux
  const read = () => {
    const now = Date.now();
    const parents = new Map();
    const stats = new Map();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        parents.set(entry, fields[1]);
        stats.set(entry, fields);
      } catch {
        // it ended while we looked
      }
    }
    const isDescendant = (pid) => {
      for (let p = parents.get(pid), hops = 0; p && hops < 8; p = parents.get(p), hops++) {
        if (Number(p) === parentPid) return true;
      }
      return false;
    };
    for (const [entry, fields] of stats) {
      if (!isDescendant(entry)) continue;
      const ticks = Number(fields[11]) + Number(fields[12]);
      const known = seen.get(entry);
      if (known) {
        known.ticks = ticks;
        known.last = now;
        continue;
      }
      try {
        const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').slice(0, -1);
        // A fork not yet exec'd still shows its parent's command line: looked at again later.
        // (chrt(1) and nice(1) exec the encoder's ffmpeg in the same process.)
        if (/(^|\/)(node|nice|chrt)$/.test(args[0] ?? '')) continue;
        seen.set(entry, {
          ticks,
          role: roleOf(args),
          label: labelOf(args),
          nice: Number(fields[16]),
          first: now,
          last: now,
        });
      } catch {
        // it ended while we looked
      }
    }
  };
  const timer = setInterval(read, 50);
  return {
    stop() {
      clearInterval(timer);
      const sums = { encode: 0, verify: 0, other: 0 };
      for (const { ticks, role } of seen.values()) sums[role] += ticks / tick;
      return sums;
    },
    /** The processes seen, in the order they started. */
    processes: () =>
      [...seen.values()]
        .map((p) => ({ ...p, cpuSec: p.ticks / tick }))
        .sort((a, b) => a.first - b.first),
  };
}

/** A short name for one of conform's tool runs, for the timeline. */
function labelOf(args) {
  const tool = (args[0] ?? '').split('/').at(-1);
  const joined = args.join(' ');
  if (tool === 'ffmpeg' && args.includes('-copyts')) {
    const ss = args.indexOf('-ss');
    return `verify: decode + SSIM, range from ${ss === -1 ? '0' : args[ss + 1]} s`;
  }
  if (tool === 'ffmpeg' && joined.includes('movie=')) return 'verify: decode + SSIM (one run)';
  if (tool === 'ffmpeg' && joined.includes('ssim')) return 'verify: SSIM segment';
  if (roleOf(args) === 'encode') return 'encode';
  if (tool === 'ffmpeg' && args.includes('null')) return 'verify: decode';
  if (args.includes('-read_intervals')) {
    const output = args.some((a) => a.includes(`/${WORK_DIR_NAME}/`));
    if (output && args.includes('-show_streams')) return 'ffprobe output (+ boundary windows)';
    return output ? 'verify: output boundary probe' : 'verify: source keyframe probe';
  }
  if (args.includes('packet=flags') || args.includes('packet=pts_time,flags')) {
    return 'verify: source packet count';
  }
  const file = (args.at(-1) ?? '').split('/').at(-1);
  return `${tool} ${args.some((a) => a.includes(`/${WORK_DIR_NAME}/`)) ? 'output' : file}`;
}

function roleOf(args) {
  const tool = (args[0] ?? '').split('/').at(-1);
  const work = args.some((a) => a.includes(`/${WORK_DIR_NAME}/`));
  const toNull = args.includes('null');
  if (tool === 'ffmpeg' && work && !toNull) return 'encode';
  if (tool === 'ffmpeg' && work && toNull) return 'verify';
  if (
    tool === 'ffprobe' &&
    (work ||
      args.includes('packet=flags') ||
      args.includes('packet=pts_time,flags') ||
      args.includes('-read_intervals'))
  ) {
    return 'verify';
  }
  return 'other';
}

/** Each file's earliest plan. */
function firstPlans(events) {
  const first = new Map();
  for (const e of events) {
    const seen = first.get(e.fileId);
    if (!seen || e.time < seen.time) first.set(e.fileId, e);
  }
  return [...first.values()];
}

async function stopConform() {
  if (!conform || conform.exitCode !== null || conform.signalCode !== null) return;
  const child = conform;
  await new Promise((r) => {
    child.once('exit', r);
    child.kill('SIGTERM');
  });
}
