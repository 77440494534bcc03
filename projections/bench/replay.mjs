#!/usr/bin/env node
// Component figure (no NATS): N realistic events (default 1,000,000; see events.mjs) as JSON
// bytes, each decoded with the batch decoder and written by a bulkApplier into a fresh file
// opened as `conform replay` opens its staging file (openForRebuild), secondary indexes built
// at the end: what rebuildReadModels does per message, minus the NATS transfer (that is in
// replay-e2e.mjs).
// Usage: node projections/bench/replay.mjs [events] [batch] (batch: default as `conform replay`)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBatchDecoder } from '@conform/contracts';
import { bulkApplier, DEFAULT_REPLAY_BATCH, openForRebuild } from '../dist/src/index.js';
import { benchResult, generatePayloads, peakRssMb } from './events.mjs';

const total = Number(process.argv[2] ?? 1_000_000);
const batchSize = Number(process.argv[3] ?? DEFAULT_REPLAY_BATCH);

const payloads = generatePayloads(total);
const dir = await mkdtemp(join(tmpdir(), 'conform-bench-'));
try {
  const staging = openForRebuild(join(dir, 'bench.sqlite'));
  const { sqlite } = staging.readModels;
  // Decoding alone first (not part of the rate), to say how the time splits.
  const decoder = createBatchDecoder();
  const decodeStart = process.hrtime.bigint();
  for (let i = 0; i < total; i++) decoder.decode(payloads.get(i));
  const decodeNs = process.hrtime.bigint() - decodeStart;

  const applier = bulkApplier(sqlite, { batchSize });
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < total; i++) {
    const decoded = decoder.decode(payloads.get(i));
    applier.apply(i + 1, decoded.ok ? decoded.event : null);
  }
  applier.commit();
  const indexStart = process.hrtime.bigint();
  staging.finish();
  const ended = process.hrtime.bigint();
  const seconds = Number(ended - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const files = sqlite.prepare('select count(*) n from files').get().n;
  await staging.readModels.close();
  const rate = Math.round(total / seconds);
  console.log(
    `${total} events (${files} files) decoded and applied, ${batchSize} per transaction: ` +
      `${seconds.toFixed(2)} s, ${rate} events/s (decoding alone ${(Number(decodeNs) / 1e9).toFixed(2)} s), ` +
      `index build ${(Number(ended - indexStart) / 1e9).toFixed(2)} s, ` +
      `CPU ${((used.user + used.system) / 1e6).toFixed(2)} s, peak RSS ${peakRssMb()} MB`,
  );
  benchResult({
    id: 'replay.component.events_per_s',
    figure: `${total.toLocaleString('en')} events decoded and applied (no NATS, component)`,
    goal: '-',
    measured: rate,
    unit: 'events/s',
    ok: null,
  });
} finally {
  await rm(dir, { recursive: true, force: true });
}
