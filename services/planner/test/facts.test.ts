import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  sampleData,
  type DomainEvent,
  type FileDiscoveredData,
  type FilePlannedData,
  type MediaSummary,
} from '@conform/contracts';
import { silentLogger, type HandlerContext } from '@conform/bus';
import {
  generateClip,
  generateUnflaggedInterlacedAvi,
  InProcessProber,
  probeMedia,
  readFfprobe,
  runFfmpeg,
} from '@conform/media';
import {
  DEFAULT_POLICY,
  NO_HISTORY,
  factsNeeded,
  planFromDisk,
  withFacts,
  type Policy,
  type ProbeLimit,
} from '../src/index.js';

// What runs per file: one probe for a file that stays as it is; the idet sample, the packet
// sizes and the health check only for a file that is to be encoded.

const encodePlan: FilePlannedData = { ...sampleData['file.planned'], decision: 'encode' };
const media = (over: Partial<MediaSummary> = {}): MediaSummary => ({
  container: 'matroska,webm',
  durationSec: 100,
  bitRate: 2_000_000,
  video: { codec: 'h264', width: 320, height: 240, pixFmt: 'yuv420p', fieldOrder: null },
  audioStreams: 1,
  subtitleStreams: 1,
  streams: [
    { index: 1, kind: 'audio', codec: 'flac', language: 'eng', channels: 2, bitRate: null },
    { index: 2, kind: 'subtitle', codec: 'subrip', language: 'eng', channels: null, bitRate: 80 },
    { index: 3, kind: 'attachment', codec: 'ttf', language: null, channels: null, bitRate: null },
  ],
  ...over,
});

describe('factsNeeded', () => {
  it('asks nothing of a plan that is not an encode', () => {
    for (const decision of ['compliant', 'skip', 'remux', 'damaged'] as const) {
      assert.deepEqual(factsNeeded({ ...encodePlan, decision }, media(), DEFAULT_POLICY), {
        idet: false,
        streamRates: [],
      });
    }
  });

  it('an encode of unknown field order needs idet; audio/subtitles of unknown rate need sizes', () => {
    assert.deepEqual(factsNeeded(encodePlan, media(), DEFAULT_POLICY), {
      idet: true,
      streamRates: [1],
    });
  });

  it('no idet when the field order is known, already sampled, or the policy does not detect', () => {
    const never: Policy = {
      ...DEFAULT_POLICY,
      video: { ...DEFAULT_POLICY.video, deinterlace: 'never' },
    };
    const known = media({ video: { ...media().video!, fieldOrder: 'progressive' } });
    const sampled = media({ video: { ...media().video!, idet: null } });
    assert.equal(factsNeeded(encodePlan, known, DEFAULT_POLICY).idet, false);
    assert.equal(factsNeeded(encodePlan, sampled, DEFAULT_POLICY).idet, false);
    assert.equal(factsNeeded(encodePlan, media(), never).idet, false);
  });

  it('no sizes without a duration (a byte count says no rate)', () => {
    assert.deepEqual(
      factsNeeded(encodePlan, media({ durationSec: null }), DEFAULT_POLICY).streamRates,
      [],
    );
  });
});

describe('withFacts', () => {
  it('adds the sample and fills only the unknown rates', () => {
    const out = withFacts(media(), {
      idet: null,
      streamRates: new Map([
        [1, 1_000_000],
        [2, 999],
      ]),
    });
    assert.equal(out.video?.idet, null);
    assert.deepEqual(
      out.streams?.map((s) => s.bitRate),
      [1_000_000, 80, null],
    );
  });
});

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-facts-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Plans a file from disk as the service does, counting the limited steps (processes: ffprobe, facts, health). */
async function plan(
  path: string,
  policy: Policy = DEFAULT_POLICY,
  prober?: InProcessProber,
): Promise<{ events: DomainEvent[]; steps: number }> {
  const s = await stat(path);
  const discovered: FileDiscoveredData = {
    library: dir,
    path,
    relativePath: relative(dir, path),
    size: s.size,
    mtimeMs: s.mtimeMs,
  };
  const hctx: HandlerContext = {
    signal: new AbortController().signal,
    attempt: 1,
    streamSequence: 1,
    log: silentLogger(),
    emit: () => Promise.reject(new Error('planFromDisk does not publish')),
  };
  let steps = 0;
  const counting: ProbeLimit = (step) => {
    steps++;
    return step();
  };
  const events = await planFromDisk(
    'f1',
    discovered,
    () => policy,
    async () => NO_HISTORY,
    hctx,
    counting,
    prober,
  );
  assert.ok(events, 'the file did not change');
  return { events, steps };
}

function probedOf(events: DomainEvent[]): MediaSummary {
  const probed = events.find((e) => e.type === 'file.probed');
  assert.ok(probed?.type === 'file.probed');
  return probed.data.media;
}
function plannedOf(events: DomainEvent[]): FilePlannedData {
  const planned = events.find((e) => e.type === 'file.planned');
  assert.ok(planned?.type === 'file.planned');
  return planned.data;
}

describe('planFromDisk', () => {
  it('a compliant HEVC file costs one probe: no idet, no health check', async () => {
    for (const name of ['compliant.mkv', 'compliant.mp4']) {
      const path = join(dir, name);
      await generateClip({ path, videoCodec: 'hevc' });
      const { events, steps } = await plan(path);
      assert.equal(plannedOf(events).decision, 'compliant', name);
      assert.equal(probedOf(events).video?.idet, undefined, name);
      assert.equal(steps, 1, name);
    }
  });

  it('a remux (HEVC in MPEG-TS) is health-checked but not sampled', async () => {
    const path = join(dir, 'recording.ts');
    await generateClip({ path, videoCodec: 'hevc' });
    const { events, steps } = await plan(path);
    assert.equal(plannedOf(events).decision, 'remux');
    assert.equal(probedOf(events).video?.idet, undefined);
    assert.equal(steps, 2, 'probe, health check');
  });

  it('an encode of unknown field order (MPEG-4 in AVI) is sampled, re-decided and health-checked', async () => {
    const path = join(dir, 'capture.avi');
    await generateUnflaggedInterlacedAvi(path);
    const { events, steps } = await plan(path);
    const planned = plannedOf(events);
    assert.equal(planned.decision, 'encode');
    assert.ok(probedOf(events).video?.idet, 'the idet sample is recorded in file.probed');
    assert.deepEqual(planned.target?.deinterlace, { parity: 'tff' });
    assert.equal(steps, 3, 'probe, idet sample, health check');
  });

  it('an audio-dominated mkv written by ffmpeg (no BPS tags) is not promised the video saving', async () => {
    const path = join(dir, 'concert.mkv');
    // Lossless noise (about 1 Mbit/s of FLAC) beside a small H.264 picture (about 0.15 Mbit/s).
    await runFfmpeg([
      '-nostdin',
      '-y',
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x240:rate=25',
      '-f',
      'lavfi',
      '-i',
      'anoisesrc=r=48000:a=0.3',
      '-t',
      '4',
      '-c:v',
      'libx264',
      '-crf',
      '30',
      '-c:a',
      'flac',
      '-ac',
      '2',
      path,
    ]);
    const json = await readFfprobe(path);
    const audio = json.streams?.find((s) => s.codec_type === 'audio');
    assert.equal(audio?.bit_rate, undefined, 'ffmpeg writes no stream bit rate into mkv');
    assert.equal(audio?.tags?.BPS, undefined);
    const policy: Policy = {
      ...DEFAULT_POLICY,
      guardrails: { ...DEFAULT_POLICY.guardrails, minSavingPercent: 20 },
    };
    const { events } = await plan(path, policy);
    // Measured from its packets, the audio is most of the file's 4 s (the rest is the picture).
    const rate = probedOf(events).streams?.find((s) => s.kind === 'audio')?.bitRate ?? 0;
    const size = (await stat(path)).size;
    const audioShare = (rate * 4) / 8 / size;
    assert.ok(audioShare > 0.7 && audioShare < 1, `audio ${rate} bit/s, ${audioShare} of the file`);
    const planned = plannedOf(events);
    assert.equal(planned.decision, 'skip', planned.reasons.join('\n'));
    assert.match(planned.reasons.at(-1) ?? '', /estimated saving \d+% is below the minimum 20%/);
  });

  it('with the in-process reader: a compliant file is never given to ffprobe; one to encode is, and decided from its reading', async () => {
    const prober = new InProcessProber();
    try {
      const compliant = join(dir, 'inprocess.mkv');
      await generateClip({ path: compliant, videoCodec: 'hevc' });
      const kept = await plan(compliant, DEFAULT_POLICY, prober);
      assert.equal(plannedOf(kept.events).decision, 'compliant');
      // Read on the prober's thread, which bounds its own readings: no process, no limited step.
      assert.equal(kept.steps, 0, 'no ffprobe, sample or health check');
      const { media: fromProcess } = (await prober.probe(compliant)) as { media: MediaSummary };
      assert.deepEqual(probedOf(kept.events), fromProcess);

      const h264 = join(dir, 'inprocess-h264.mkv');
      await generateClip({ path: h264, videoCodec: 'h264' });
      const work = await plan(h264, DEFAULT_POLICY, prober);
      assert.equal(plannedOf(work.events).decision, 'encode');
      const reference = await probeMedia(h264);
      const probed = probedOf(work.events);
      assert.deepEqual(probed.video, reference.video, 'the video as ffprobe reads it');
      // ffmpeg's mkv records no AAC bit rate: measured from the packets for the estimate.
      assert.equal(reference.streams?.[0]?.bitRate, null);
      assert.ok((probed.streams?.[0]?.bitRate ?? 0) > 0);
      assert.equal(
        work.steps,
        3,
        'ffprobe, packet sizes, health check (the in-process read is not limited)',
      );
    } finally {
      prober.close();
    }
  });
});
