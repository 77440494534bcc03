#!/usr/bin/env node
// Benchmark: N generated clips through conform's encoder (real nats-server, JetStream, events,
// progress, fsync+rename) vs. the same ffmpeg argument lists run directly, at the same
// concurrency. Prints wall-clock times and the ratio (goal: at most 1.05).
// Usage (after the build): node services/encoder/bench/encoder-overhead.mjs [clips=20] [slots=2] [seconds=2]
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleData, subjectFor } from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  EventPublisher,
  eventually,
  provisionEventLog,
  silentLogger,
  startTestBus,
} from '@conform/bus';
import { generateClip, probeVideoColour, runFfmpeg } from '@conform/media';
import {
  buildEncodeArgs,
  chooseEncoder,
  detectEncodersOnce,
  encodeSettingsFor,
  startEncoder,
} from '../dist/src/index.js';

const clips = Number(process.argv[2] ?? 20);
const slots = Number(process.argv[3] ?? 2);
const seconds = Number(process.argv[4] ?? 2);
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

  // Direct: the same argument lists, `slots` at a time.
  const direct = join(dir, 'direct');
  await mkdir(direct);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: slots }, async () => {
      while (next < paths.length) {
        const i = next++;
        const colour = await probeVideoColour(paths[i]);
        const args = buildEncodeArgs({
          inputPath: paths[i],
          outputPath: join(direct, `clip${i}.mkv`),
          ...encodeSettingsFor(target, profile, colour),
        });
        await runFfmpeg(args, { durationSec: seconds });
      }
    }),
  );
  const directMs = performance.now() - t0;

  // conform: publish every plan, time until every encode.completed is in the log.
  await provisionEventLog(t.bus.jsm);
  const publisher = new EventPublisher(t.bus.js, { producer: 'bench@host' });
  const ctx = { bus: t.bus, publisher, log: silentLogger() };
  const encoder = await startEncoder(ctx, { slots, availability, minFreeBytes: 0 });
  const t1 = performance.now();
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
      { fileId: `bench${i}` },
    );
  }
  await eventually(
    async () => {
      const info = await t.bus.jsm.streams.info(EVENT_LOG_STREAM, {
        subjects_filter: subjectFor('encode.completed', '*'),
      });
      return Object.keys(info.state.subjects ?? {}).length === clips;
    },
    { timeoutMs: 3_600_000, intervalMs: 20, what: 'every encode' },
  );
  const conformMs = performance.now() - t1;
  await encoder.stop();
  console.log(
    JSON.stringify(
      {
        clips,
        slots,
        clipSeconds: seconds,
        encoder: profile.encoder,
        directMs: Math.round(directMs),
        conformMs: Math.round(conformMs),
        ratio: Number((conformMs / directMs).toFixed(3)),
      },
      null,
      2,
    ),
  );
} finally {
  await t.cleanup();
  await rm(dir, { recursive: true, force: true });
}
