#!/usr/bin/env node
// Replay rate of the read models: N synthetic events (default 1,000,000) through applyBatch into
// a fresh SQLite file, in batches as `conform replay` applies them. Decoding is included (each
// event is JSON text, as it comes off the stream); the NATS transfer is not (see docs).
// Usage: node projections/bench/replay.mjs [events] [batch]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeEvent, sampleEvent } from '@conform/contracts';
import { applyBatch, openReadModels } from '../dist/src/index.js';

const total = Number(process.argv[2] ?? 1_000_000);
const batchSize = Number(process.argv[3] ?? 5_000);
const lifecycle = [
  'file.discovered',
  'file.probed',
  'file.planned',
  'encode.started',
  'encode.completed',
  'verify.passed',
  'file.replaced',
  'file.discovered',
  'encode.failed',
  'message.deadlettered',
];
const templates = lifecycle.map((type) => JSON.stringify(sampleEvent(type, 'FILEID')));
const payload = (i) => {
  const fileId = `f${Math.floor(i / lifecycle.length)}`;
  return Buffer.from(templates[i % lifecycle.length].replaceAll('FILEID', fileId));
};

const dir = await mkdtemp(join(tmpdir(), 'conform-bench-'));
const readModels = openReadModels(join(dir, 'bench.sqlite'));
// As rebuildReadModels sets them on its staging file.
readModels.sqlite.pragma('synchronous = OFF');
readModels.sqlite.pragma('cache_size = -65536');
const started = process.hrtime.bigint();
let batch = [];
for (let i = 0; i < total; i++) {
  const decoded = decodeEvent(payload(i));
  batch.push({ position: i + 1, event: decoded.ok ? decoded.event : null });
  if (batch.length === batchSize) {
    applyBatch(readModels.sqlite, batch);
    batch = [];
  }
}
if (batch.length) applyBatch(readModels.sqlite, batch);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const files = readModels.sqlite.prepare('select count(*) n from files').get().n;
await readModels.close();
await rm(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    events: total,
    batch: batchSize,
    seconds: Math.round(seconds * 100) / 100,
    eventsPerSecond: Math.round(total / seconds),
    files,
  }),
);
