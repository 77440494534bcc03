#!/usr/bin/env node
// Benchmark: N generated clips through conform's encoder (real nats-server, JetStream pulls,
// events, progress, fsync + rename) vs. the same ffmpeg argument lists run directly, at the same
// concurrency, RUNS times with the order of the two phases alternating. Prints the median
// ratio (goal: at most 1.03) and where conform's extra time goes, per job, from the phases the
// encoder logs with every `encoded` line.
// Usage (after the build):
//   node services/encoder/bench/encoder-overhead.mjs [clips=20] [slots=2] [seconds=2] [runs=5]
import { mkdtemp, readFile, readdir, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { sampleData } from '@conform/contracts';
import { EventPublisher, provisionEventLog, startTestBus } from '@conform/bus';
import {
  generateClip,
  idleSchedulingWorks,
  probeMedia,
  probeVideoColour,
  runFfmpeg,
} from '@conform/media';
import {
  DEFAULT_ENCODE_NICENESS,
  buildEncodeArgs,
  chooseEncoder,
  detectEncodersOnce,
  encodeSettingsFor,
  startEncoder,
} from '../dist/src/index.js';

const clips = Number(process.argv[2] ?? 20);
const slots = Number(process.argv[3] ?? 2);
const seconds = Number(process.argv[4] ?? 2);
const runs = Number(process.argv[5] ?? 5);
const GOAL = 1.03;

/** CPU milliseconds used so far by this process (the encoder) and by nats-server. */
async function cpuNow(natsPid) {
  const own = process.cpuUsage();
  let nats = 0;
  try {
    const stat = (await readFile(`/proc/${natsPid}/stat`, 'utf8')).split(') ')[1].split(' ');
    // utime and stime, fields 14 and 15 of /proc/PID/stat, in clock ticks (100 per second).
    nats = ((Number(stat[11]) + Number(stat[12])) * 1000) / 100;
  } catch {
    // not on Linux: the figure stays 0
  }
  return { node: (own.user + own.system) / 1000, nats, threads: await threadCpu() };
}

/**
 * CPU milliseconds of this process so far by thread kind: the main thread's user and system
 * time (a child's spawn is system time here: the fork copies the parent's page tables) and the
 * other threads (libuv's pool: fsync, fs calls; V8's GC and compiler threads; worker threads).
 */
async function threadCpu() {
  const out = { mainUser: 0, mainSys: 0, others: 0 };
  try {
    for (const tid of await readdir('/proc/self/task')) {
      const stat = await readFile(`/proc/self/task/${tid}/stat`, 'utf8').catch(() => null);
      if (!stat) continue; // the thread ended meanwhile
      const f = stat.split(') ')[1].split(' ');
      const [user, sys] = [(Number(f[11]) * 1000) / 100, (Number(f[12]) * 1000) / 100];
      if (Number(tid) === process.pid) Object.assign(out, { mainUser: user, mainSys: sys });
      else out.others += user + sys;
    }
  } catch {
    // not on Linux: the figures stay 0
  }
  return out;
}

const dir = await mkdtemp(join(tmpdir(), 'conform-bench-'));
const t = await startTestBus('bench');
try {
  const library = join(dir, 'lib');
  await mkdir(library);
  const paths = [];
  for (let i = 0; i < clips; i++) {
    const path = join(library, `clip${i}.mkv`);
    await generateClip({ path, durationSec: seconds });
    paths.push(path);
  }
  const availability = await detectEncodersOnce();
  const profile = chooseEncoder('hevc', availability).profile;
  const target = { videoCodec: 'hevc', container: 'mkv' };
  // What the planner knows before any encode: a probe per file (published as file.probed).
  const probes = await Promise.all(paths.map((p) => probeMedia(p)));
  // The direct side runs exactly the argument lists conform builds, computed up front: the
  // colour probe is conform's work, part of what the ratio measures.
  const colours = await Promise.all(paths.map((p) => probeVideoColour(p)));
  const directArgs = (out, i) =>
    buildEncodeArgs({
      inputPath: paths[i],
      outputPath: join(out, `clip${i}.mkv`),
      ...encodeSettingsFor(target, profile, colours[i]),
    });

  await provisionEventLog(t.bus.jsm);
  const publisher = new EventPublisher(t.bus.js, { producer: 'bench@host' });
  const results = [];
  for (let run = 0; run < runs; run++) {
    const conformFirst = run % 2 === 1;
    const r = {};
    for (const phase of conformFirst ? ['conform', 'direct'] : ['direct', 'conform']) {
      if (phase === 'direct') Object.assign(r, await runDirect(run));
      else Object.assign(r, await runConform(run, publisher, library, probes));
    }
    r.ratio = r.conformMs / r.directMs;
    r.breakdown.directFfmpegMs = r.directTimes.reduce((a, b) => a + b, 0) / r.directTimes.length;
    r.breakdown.overheadMs = ((r.conformMs - r.directMs) * slots) / clips;
    // Slots idle in the direct run too (the last encodes end unevenly): not conform's doing.
    r.breakdown.directIdleMs = (slots * r.directMs) / clips - r.breakdown.directFfmpegMs;
    r.breakdown.directGapMs = r.directIdle.gapMs;
    r.breakdown.directCpuMs = r.directCpuMs;
    results.push(r);
    console.log(
      `run ${run + 1}/${runs} (${conformFirst ? 'conform' : 'direct'} first): direct ` +
        `${Math.round(r.directMs)} ms, conform ${Math.round(r.conformMs)} ms, ratio ${r.ratio.toFixed(3)}; ` +
        `CPU per job beside ffmpeg: encoder ${r.breakdown.encoderCpuMs.toFixed(1)} ms, ` +
        `(main thread ${r.breakdown.encoder_mainUser.toFixed(1)} user + ${r.breakdown.encoder_mainSys.toFixed(1)} sys, ` +
        `other threads ${r.breakdown.encoder_others.toFixed(1)}), ` +
        `nats-server ${r.breakdown.natsCpuMs.toFixed(1)} ms, direct runner ${r.directCpuMs.toFixed(1)} ms; ` +
        `slot idle per job: first ${r.breakdown.rampMs.toFixed(1)} ms, between ${r.breakdown.gapMs.toFixed(1)} ms ` +
        `(direct ${r.directIdle.gapMs.toFixed(1)} ms), last ${r.breakdown.tailMs.toFixed(1)} ms; ` +
        `NATS messages per job: ${r.breakdown.msgsOut.toFixed(1)} out, ${r.breakdown.msgsIn.toFixed(1)} in`,
    );
  }

  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  const ratio = median(results.map((r) => r.ratio));
  // The breakdown of the run with the median ratio, so its parts add up to its overhead.
  const middle = [...results].sort((a, b) => a.ratio - b.ratio)[
    Math.floor((results.length - 1) / 2)
  ];
  const per = (key) => Number(middle.breakdown[key].toFixed(1));
  const breakdown = {
    directFfmpegMs: per('directFfmpegMs'),
    conformFfmpegMs: per('ffmpegMs'),
    prepareMs: per('prepareMs'),
    probedByEncoder: per('probedByEncoder'),
    slotWaitMs: per('slotWaitMs'),
    startMs: per('startMs'),
    commitMs: per('commitMs'),
    publishMs: per('publishMs'),
    betweenJobsMs: per('betweenJobsMs'),
    directIdleMs: per('directIdleMs'),
    rampMs: per('rampMs'),
    gapMs: per('gapMs'),
    directGapMs: per('directGapMs'),
    tailMs: per('tailMs'),
    directCpuMs: per('directCpuMs'),
    overheadMs: per('overheadMs'),
  };
  // Counts, unlike times, hold from run to run: the median over the runs. The first run is
  // also shown apart: it compiles the event schemas and warms up the JIT, once per process.
  const acrossRuns = (key) =>
    Number(median(results.map((r) => r.breakdown[key] ?? r[key])).toFixed(1));
  const counts = {
    encoderCpuMs: acrossRuns('encoderCpuMs'),
    encoderMainUserMs: acrossRuns('encoder_mainUser'),
    encoderMainSysMs: acrossRuns('encoder_mainSys'),
    encoderOtherThreadsMs: acrossRuns('encoder_others'),
    natsCpuMs: acrossRuns('natsCpuMs'),
    directCpuMs: acrossRuns('directCpuMs'),
    msgsOut: acrossRuns('msgsOut'),
    msgsIn: acrossRuns('msgsIn'),
  };
  const first = results[0].breakdown;
  console.log(
    JSON.stringify(
      {
        clips,
        slots,
        clipSeconds: seconds,
        runs,
        encoder: profile.encoder,
        directMs: Math.round(median(results.map((r) => r.directMs))),
        conformMs: Math.round(median(results.map((r) => r.conformMs))),
        ratios: results.map((r) => Number(r.ratio.toFixed(3))),
        medianRatio: Number(ratio.toFixed(3)),
        perJobMedianMs: breakdown,
        perJobCountsMedianOfRuns: counts,
      },
      null,
      2,
    ),
  );
  console.log(
    [
      `Per job, in the run with the median ratio (${middle.ratio.toFixed(3)}). A slot's critical path is`,
      'start + ffmpeg + between jobs; prepare, slot wait, commit and publish overlap other encodes:',
      `  ffmpeg direct ${breakdown.directFfmpegMs} ms, under conform ${breakdown.conformFfmpegMs} ms`,
      `  prepare (plan's probe read, args) ${breakdown.prepareMs} ms; sources ffprobed by the encoder: ${breakdown.probedByEncoder}`,
      `  start (work dir, encode.started) ${breakdown.startMs} ms`,
      `  commit (fsync, rename, fsync dir) ${breakdown.commitMs} ms`,
      `  publish (stat, encode.completed) ${breakdown.publishMs} ms`,
      `  slot idle ${breakdown.betweenJobsMs} ms (direct run: ${breakdown.directIdleMs} ms): before the first encodes ` +
        `${breakdown.rampMs} ms, between encodes ${breakdown.gapMs} ms (direct ${breakdown.directGapMs} ms), after the last ${breakdown.tailMs} ms`,
      `  total overhead ${breakdown.overheadMs} ms per job`,
      `Per job, median over the ${results.length} runs (first run: encoder ${first.encoderCpuMs.toFixed(1)} ms, ` +
        `${first.msgsOut.toFixed(1)} messages out, ${first.msgsIn.toFixed(1)} in):`,
      `  CPU beside ffmpeg: encoder process ${counts.encoderCpuMs} ms (main thread ${counts.encoderMainUserMs} user + ` +
        `${counts.encoderMainSysMs} sys, other threads ${counts.encoderOtherThreadsMs}), nats-server ${counts.natsCpuMs} ms ` +
        `(the direct runner: ${counts.directCpuMs} ms)`,
      `  NATS messages of the encoder's connection: ${counts.msgsOut} out, ${counts.msgsIn} in`,
    ].join('\n'),
  );
  const result = (id, figure, goal, measured, unit, ok) =>
    console.log(`BENCH_RESULT ${JSON.stringify({ id, figure, goal, measured, unit, ok })}`);
  result(
    'encoder.overhead.median_ratio',
    `encoder overhead: conform / direct ffmpeg, ${clips} clips × ${seconds} s, ${slots} slots, median of ${runs}`,
    `<= ${GOAL}`,
    Number(ratio.toFixed(3)),
    'ratio',
    ratio <= GOAL,
  );
  const figures = {
    overhead_ms: ['conform time beyond direct ffmpeg, per job', breakdown.overheadMs],
    ffmpeg_slowdown_ms: [
      'ffmpeg run time under conform minus run directly, per job',
      Number((breakdown.conformFfmpegMs - breakdown.directFfmpegMs).toFixed(1)),
    ],
    prepare_ms: ['prepare before the slot (probe read, args), per job', breakdown.prepareMs],
    start_ms: ['start (work dir, encode.started), per job', breakdown.startMs],
    commit_ms: ['commit (fsync, rename, fsync dir; off the slot), per job', breakdown.commitMs],
    publish_ms: ['publish (stat, encode.completed; off the slot), per job', breakdown.publishMs],
    slot_idle_ms: ['device slot idle between encodes, per job', breakdown.betweenJobsMs],
    direct_idle_ms: ['slot idle in the direct run, per job', breakdown.directIdleMs],
    ramp_ms: [
      'slot idle before the first encodes (publish, route, pull), per job',
      breakdown.rampMs,
    ],
    gap_ms: ['slot idle between encodes, per job', breakdown.gapMs],
    tail_ms: ['after the last encode (commit, encode.completed), per job', breakdown.tailMs],
    encoder_cpu_ms: [
      'CPU of the encoder process beside ffmpeg, per job (median of the runs)',
      counts.encoderCpuMs,
    ],
    nats_cpu_ms: ['CPU of nats-server, per job (median of the runs)', counts.natsCpuMs],
    nats_msgs_out: [
      "NATS messages sent by the encoder's connection, per job (median of the runs)",
      counts.msgsOut,
      'messages',
    ],
    nats_msgs_in: [
      "NATS messages received by the encoder's connection, per job (median of the runs)",
      counts.msgsIn,
      'messages',
    ],
  };
  for (const [key, [figure, measured, unit = 'ms']] of Object.entries(figures)) {
    result(`encoder.overhead.${key}`, figure, '-', measured, unit, null);
  }
  /** The argument lists run directly, `slots` at a time. */
  async function runDirect(run) {
    const out = join(dir, `direct-${run}`);
    await mkdir(out);
    const times = [];
    const intervals = [];
    const cpu0 = await cpuNow(t.server.pid);
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: slots }, async () => {
        while (next < clips) {
          const i = next++;
          const s = performance.now();
          // The command conform runs: the same arguments, at the niceness its encodes run at.
          await runFfmpeg(directArgs(out, i), {
            durationSec: seconds,
            niceness: DEFAULT_ENCODE_NICENESS,
            idle: await idleSchedulingWorks(),
          });
          times.push(performance.now() - s);
          intervals.push([performance.timeOrigin + s, performance.timeOrigin + performance.now()]);
        }
      }),
    );
    const directMs = performance.now() - t0;
    const cpu1 = await cpuNow(t.server.pid);
    await rm(out, { recursive: true, force: true });
    const idle = idleOf(
      intervals,
      performance.timeOrigin + t0,
      performance.timeOrigin + t0 + directMs,
    );
    const directCpuMs = (cpu1.node - cpu0.node) / clips;
    return { directMs, directTimes: times, directIdle: idle, directCpuMs };
  }

  /** Every plan published at once; timed until the last encode.completed reaches the log. */
  async function runConform(run, publisher, library, probes) {
    const phases = [];
    const log = pino(
      { level: 'info' },
      {
        write(line) {
          if (!line.includes('"encoded"')) return;
          const entry = JSON.parse(line);
          if (entry.msg === 'encoded' && entry.phases) {
            phases.push({ ...entry.phases, ffmpegAt: entry.ffmpegAt });
          }
        },
      },
    );
    const ctx = { bus: t.bus, publisher, log };
    const encoder = await startEncoder(ctx, { slots, availability, minFreeBytes: 0 });
    const ids = paths.map((_, i) => `r${run}c${i}`);
    for (let i = 0; i < clips; i++) {
      const { size, mtimeMs } = { size: 1e9, mtimeMs: 1 };
      await publisher.emit(
        {
          type: 'file.probed',
          data: { library, path: paths[i], source: { size, mtimeMs }, media: probes[i] },
        },
        { fileId: ids[i] },
      );
    }
    const done = new Set();
    let finished;
    const allDone = new Promise((resolve) => (finished = resolve));
    const sub = t.bus.nc.subscribe('conform.evt.encode.completed.*', {
      callback: (_err, msg) => {
        const fileId = msg.subject.split('.').at(-1);
        if (ids.includes(fileId)) done.add(fileId);
        if (done.size === clips) finished();
      },
    });
    await t.bus.nc.flush();
    // Messages the encoder's connection (the bench's publishes of the plans included) sends
    // and receives: pulls, log reads, events, acks, progress, heartbeats. Load does not skew it.
    const stats0 = t.bus.nc.stats();
    const cpu0 = await cpuNow(t.server.pid);
    const t1 = performance.now();
    const t1Epoch = performance.timeOrigin + t1;
    for (let i = 0; i < clips; i++) {
      await publisher.emit(
        {
          type: 'file.planned',
          data: {
            ...sampleData['file.planned'],
            library,
            path: paths[i],
            source: { size: 1e9, mtimeMs: 1 },
            target,
            durationSec: seconds,
          },
        },
        { fileId: ids[i] },
      );
    }
    await allDone;
    const conformMs = performance.now() - t1;
    const cpu1 = await cpuNow(t.server.pid);
    const stats1 = t.bus.nc.stats();
    const endEpoch = t1Epoch + conformMs;
    sub.unsubscribe();
    await encoder.stop();
    await rm(join(library, '.conform-work'), { recursive: true, force: true });
    const breakdown = breakdownOf(phases, conformMs, t1Epoch, endEpoch);
    breakdown.encoderCpuMs = (cpu1.node - cpu0.node) / clips;
    breakdown.natsCpuMs = (cpu1.nats - cpu0.nats) / clips;
    for (const key of ['mainUser', 'mainSys', 'others']) {
      breakdown[`encoder_${key}`] = (cpu1.threads[key] - cpu0.threads[key]) / clips;
    }
    breakdown.msgsOut = (stats1.outMsgs - stats0.outMsgs) / clips;
    breakdown.msgsIn = (stats1.inMsgs - stats0.inMsgs) / clips;
    return { conformMs, breakdown };
  }

  function breakdownOf(phases, conformMs, startEpoch, endEpoch) {
    const mean = (key) => phases.reduce((a, p) => a + (p[key] ?? 0), 0) / phases.length;
    const prepareMs = mean('prepare') + mean('prepareWithProbe');
    // The device slot is held from the end of the slot wait to the end of ffmpeg.
    const critical = ['start', 'ffmpeg'].reduce((a, k) => a + mean(k), 0);
    const betweenJobsMs = (slots * conformMs) / phases.length - critical;
    return {
      ffmpegMs: mean('ffmpeg'),
      prepareMs,
      probedByEncoder: phases.filter((p) => p.prepareWithProbe !== undefined).length,
      slotWaitMs: mean('slotWait'),
      startMs: mean('start'),
      commitMs: mean('commit'),
      publishMs: mean('publish'),
      betweenJobsMs,
      ...idleOf(
        phases.map((p) => p.ffmpegAt),
        startEpoch,
        endEpoch,
      ),
    };
  }

  /**
   * Slot time without an ffmpeg running, per job: before each slot's first encode starts (the
   * plans' publish, routing, first pulls), between encodes, and after the last one ends (its
   * commit and encode.completed). From the ffmpeg start and end times the encoder logs.
   */
  function idleOf(intervals, startEpoch, endEpoch) {
    const edges = intervals.flatMap(([s, e]) => [
      [s, 1],
      [e, -1],
    ]);
    edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const lastEnd = edges.at(-1)[0];
    let running = 0;
    let prev = edges[0][0];
    let gaps = 0;
    let ramp = 0;
    let startedSlots = 0;
    for (const [t, d] of edges) {
      // Slots that have had an encode and now have none: a gap between encodes.
      gaps += Math.max(0, Math.min(slots, startedSlots) - running) * (t - prev);
      running += d;
      prev = t;
      if (d === 1 && startedSlots < slots) {
        startedSlots++;
        ramp += t - startEpoch;
      }
    }
    const tail = slots * (endEpoch - lastEnd);
    const n = intervals.length;
    return { rampMs: ramp / n, gapMs: gaps / n, tailMs: tail / n };
  }
} finally {
  await t.cleanup();
  await rm(dir, { recursive: true, force: true });
}
