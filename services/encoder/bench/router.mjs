#!/usr/bin/env node
// Benchmark: the router and the work-queue check at start, on a paused encoder node (it
// routes, it encodes nothing) on a real nats-server, with N plans:
//  1. live: plans published while the router runs, routed without a history check;
//  2. replay: the router's consumer and the work stream deleted (a NATS holding only the
//     replicated log), half the plans answered meanwhile: every plan is read again and checked
//     against its file's history, only the open half is queued;
//  3. lost work stream: deleted again; the start-up check queues the open half again.
// Component figures, no goal. Usage (after the build): node services/encoder/bench/router.mjs [plans=2000]
import { readFile } from 'node:fs/promises';
import { CONTROL_FILE_ID, sampleData } from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  EventPublisher,
  WORK_STREAM,
  eventually,
  provisionEventLog,
  recordingLogger,
  silentLogger,
  startTestBus,
} from '@conform/bus';
import { startEncoder } from '../dist/src/index.js';

const plans = Number(process.argv[2] ?? 2000);
const open = plans - Math.ceil(plans / 2);
const x265 = [
  { encoder: 'libx265', codec: 'hevc', backend: 'cpu', compiled: true, works: true, reason: 'ok' },
];
const result = (id, figure, measured, unit) =>
  console.log(
    `BENCH_RESULT ${JSON.stringify({ id, figure, goal: '-', measured, unit, ok: null })}`,
  );

const t = await startTestBus('bench-router');
/**
 * What a phase cost, counted rather than timed (load on a shared machine skews its wall time,
 * not these): messages nats-server received and sent (its /varz), and the CPU milliseconds of
 * this process (the node and the bench's publisher) and of nats-server.
 */
async function costs() {
  const varz = await (await fetch(`${t.server.monitorUrl}/varz`)).json();
  const cpu = process.cpuUsage();
  return {
    in: varz.in_msgs,
    out: varz.out_msgs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    natsCpuMs: await natsCpuMs(),
  };
}
async function natsCpuMs() {
  try {
    const stat = (await readFile(`/proc/${t.server.pid}/stat`, 'utf8')).split(') ')[1].split(' ');
    return ((Number(stat[11]) + Number(stat[12])) * 1000) / 100; // utime + stime, 100 Hz ticks
  } catch {
    return 0; // not on Linux
  }
}
const perPlan = (a, b) =>
  `per plan: nats-server ${((b.in - a.in) / plans).toFixed(1)} messages in, ` +
  `${((b.out - a.out) / plans).toFixed(1)} out; CPU ${((b.cpuMs - a.cpuMs) / plans).toFixed(2)} ms ` +
  `(bench + node), nats-server ${((b.natsCpuMs - a.natsCpuMs) / plans).toFixed(2)} ms`;
let node = null;
try {
  await provisionEventLog(t.bus.jsm, { maxBytes: 1024 ** 3 });
  const publisher = new EventPublisher(t.bus.js, { producer: 'bench@test' });
  const start = (log = silentLogger()) =>
    startEncoder(
      { bus: t.bus, publisher, log, eventLog: { maxBytes: 1024 ** 3 } },
      { node: 'bench', slots: 1, availability: x265, heartbeatIntervalMs: 60_000 },
    );
  const drained = () =>
    eventually(
      async () => {
        const c = await t.bus.jsm.consumers.info(EVENT_LOG_STREAM, 'router-file-planned');
        return c.num_pending === 0 && c.num_ack_pending === 0;
      },
      { what: 'every plan routed', timeoutMs: 1_800_000, intervalMs: 100 },
    );
  const queued = async () => (await t.bus.jsm.streams.info(WORK_STREAM)).state.messages;
  // Paused before the node starts: it routes but encodes nothing.
  await publisher.emit(
    {
      type: 'control.requested',
      data: { action: 'pause', path: null, now: false, requestedBy: 'bench' },
    },
    { fileId: CONTROL_FILE_ID, discriminator: 'pause' },
  );

  // 1. Live.
  node = await start();
  const c0 = await costs();
  const t0 = performance.now();
  const planned = [];
  for (let i = 0; i < plans; i++) {
    const fileId = `f${i}`;
    const data = { ...sampleData['file.planned'], library: '/media', path: `/media/${fileId}.mkv` };
    planned.push(await publisher.emit({ type: 'file.planned', data }, { fileId }));
  }
  await drained();
  const liveSec = (performance.now() - t0) / 1000;
  const c1 = await costs();
  console.log(
    `live: ${plans} plans published and routed in ${liveSec.toFixed(2)} s, ${await queued()} queued; ${perPlan(c0, c1)}`,
  );
  result(
    'router.live.plans_per_second',
    `plans published and routed per second, live (${plans} plans)`,
    Math.round(plans / liveSec),
    'plans/s',
  );
  await node.stop();
  node = null;

  // 2. Replay: half answered, then a NATS with only the log.
  for (let i = 0; i < plans; i += 2) {
    const data = { ...sampleData['encode.completed'], path: planned[i].data.path };
    await publisher.emit(
      { type: 'encode.completed', data },
      { fileId: `f${i}`, causation: planned[i] },
    );
  }
  await t.bus.jsm.streams.delete(WORK_STREAM);
  await t.bus.jsm.consumers.delete(EVENT_LOG_STREAM, 'router-file-planned');
  const c2 = await costs();
  const t1 = performance.now();
  node = await start();
  await drained();
  const replaySec = (performance.now() - t1) / 1000;
  const afterReplay = await queued();
  const c3 = await costs();
  console.log(
    `replay: ${plans} plans checked in ${replaySec.toFixed(2)} s (start included), ${afterReplay} queued of ${open} open; ${perPlan(c2, c3)}`,
  );
  result(
    'router.replay.plans_per_second',
    `plans read again and checked against their history per second (${plans} plans)`,
    Math.round(plans / replaySec),
    'plans/s',
  );
  await node.stop();
  node = null;

  // 3. The work stream lost: the start-up check.
  await t.bus.jsm.streams.delete(WORK_STREAM);
  const rec = recordingLogger();
  const c4 = await costs();
  const t2 = performance.now();
  node = await start(rec.log);
  const checked = await eventually(
    () => rec.records.find((r) => r.msg === 'work queue checked against the log'),
    { what: 'the work queue check', timeoutMs: 1_800_000, intervalMs: 50 },
  );
  const checkSec = (performance.now() - t2) / 1000;
  const c5 = await costs();
  console.log(
    `work stream lost: the start-up check queued ${checked.requeued} of ${checked.considered} plans again in ${checkSec.toFixed(2)} s (start included); ${perPlan(c4, c5)}`,
  );
  result(
    'router.requeue_check.seconds',
    `start-up work-queue check over ${plans} plans (work stream lost)`,
    Number(checkSec.toFixed(2)),
    's',
  );
  if (afterReplay !== open || checked.requeued !== open) {
    console.error(
      `expected ${open} open plans queued, got ${afterReplay} (replay) and ${checked.requeued} (check)`,
    );
    process.exitCode = 1;
  }
} finally {
  await node?.stop();
  await t.cleanup();
}
