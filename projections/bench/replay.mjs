#!/usr/bin/env node
// Component figure (no NATS): N realistic events (default 1,000,000; see events.mjs) as JSON
// bytes, decoded in batches with the batch decoder and applied with applyBatch into a fresh
// file opened as `conform replay` opens its staging file (openForRebuild), secondary indexes
// built at the end. The NATS transfer is in replay-e2e.mjs.
// Usage: node projections/bench/replay.mjs [events] [batch]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeEventBatch } from '@conform/contracts';
import { applyBatch, openForRebuild } from '../dist/src/index.js';
import { benchResult, generatePayloads, peakRssMb } from './events.mjs';

const total = Number(process.argv[2] ?? 1_000_000);
const batchSize = Number(process.argv[3] ?? 5_000);

const payloads = generatePayloads(total);
const dir = await mkdtemp(join(tmpdir(), 'conform-bench-'));
try {
  const staging = openForRebuild(join(dir, 'bench.sqlite'));
  const { sqlite } = staging.readModels;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  let decodeNs = 0n;
  for (let from = 0; from < total; from += batchSize) {
    const chunk = [];
    for (let i = from; i < Math.min(total, from + batchSize); i++) chunk.push(payloads.get(i));
    const t = process.hrtime.bigint();
    const decoded = decodeEventBatch(chunk);
    decodeNs += process.hrtime.bigint() - t;
    applyBatch(
      sqlite,
      decoded.map((d, k) => ({ position: from + k + 1, event: d.ok ? d.event : null })),
    );
  }
  const indexStart = process.hrtime.bigint();
  staging.finish();
  const ended = process.hrtime.bigint();
  const seconds = Number(ended - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const files = sqlite.prepare('select count(*) n from files').get().n;
  await staging.readModels.close();
  const rate = Math.round(total / seconds);
  console.log(
    `${total} events (${files} files) decoded and applied in batches of ${batchSize}: ` +
      `${seconds.toFixed(2)} s, ${rate} events/s; decoding ${(Number(decodeNs) / 1e9).toFixed(2)} s, ` +
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
