import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  sampleData,
  subjectFor,
  type EncodeCompletedData,
  type EventEnvelope,
  type VerificationCheck,
} from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  EventPublisher,
  eventually,
  silentLogger,
  startTestBus,
  type RunningService,
  type TestBus,
} from '@conform/bus';
import { generateClip, runFfmpeg } from '@conform/media';
import {
  fullDecode,
  measureOutput,
  measureSsim,
  probeFacts,
  SEEK_PAST_KEYFRAME_SEC,
  startVerifier,
  verifyEncode,
  verifyOutput,
} from '../src/index.js';
import { encodeHevc, makeLongPair, mountTmpfs } from './media.js';

let t: TestBus;
let publisher: EventPublisher;
let verifier: RunningService;
let library: string;
let sourcePath: string;
let goodOutput: string;
let sourceSize: number;
let sourceMtimeMs: number;

before(async () => {
  t = await startTestBus('verifier-test');
  publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
  library = await mkdtemp(join(tmpdir(), 'conform-verifier-lib-'));
  sourcePath = join(library, 'source.mp4');
  goodOutput = join(library, 'good.mp4');
  await generateClip({
    path: sourcePath,
    videoCodec: 'h264',
    durationSec: 2,
    audioTracks: 2,
    subtitles: true,
  });
  await encodeHevc(sourcePath, goodOutput);
  ({ size: sourceSize, mtimeMs: sourceMtimeMs } = await stat(sourcePath));
  verifier = await startVerifier(
    { bus: t.bus, publisher, log: silentLogger(), eventLog: { maxBytes: 64 * 1024 * 1024 } },
    { slots: 1 },
  );
});
after(async () => {
  await verifier.stop();
  await t.cleanup();
  await rm(library, { recursive: true, force: true });
});

function completed(
  outputPath: string,
  extra: Partial<EncodeCompletedData> = {},
): EncodeCompletedData {
  return {
    ...sampleData['encode.completed'],
    library,
    path: sourcePath,
    source: { size: sourceSize, mtimeMs: sourceMtimeMs },
    outputPath,
    ...extra,
  };
}

async function verdict(fileId: string): Promise<EventEnvelope<'verify.passed' | 'verify.failed'>> {
  return eventually(
    async () => {
      for (const type of ['verify.passed', 'verify.failed'] as const) {
        const msg = await t.bus.jsm.streams
          .getMessage(EVENT_LOG_STREAM, { last_by_subj: subjectFor(type, fileId) })
          .catch(() => null);
        if (msg) return msg.json<EventEnvelope<'verify.passed' | 'verify.failed'>>();
      }
      return null;
    },
    { what: `a verdict for ${fileId}`, timeoutMs: 30_000 },
  );
}

const failed = (checks: VerificationCheck[]) => checks.filter((c) => !c.passed);
const named = (checks: VerificationCheck[], name: string) => checks.find((c) => c.name === name);

describe('verifier on the real bus', () => {
  it('passes a real HEVC encode of the source after a full decode and SSIM, with the policy version', async () => {
    await publisher.emit(
      { type: 'encode.completed', data: completed(goodOutput, { policyVersion: 'p-good' }) },
      { fileId: 'good' },
    );
    const event = await verdict('good');
    assert.equal(event.type, 'verify.passed', JSON.stringify(event.data.checks));
    assert.equal(event.data.policyVersion, 'p-good');
    assert.deepEqual(named(event.data.checks, 'decode'), {
      name: 'decode',
      passed: true,
      measured: 'no errors',
      limit: 'no errors',
    });
    const ssim = named(event.data.checks, 'ssim');
    assert.ok(typeof ssim?.measured === 'number' && ssim.measured >= 0.95 && ssim.measured <= 1);
    assert.deepEqual(named(event.data.checks, 'frame-count'), {
      name: 'frame-count',
      passed: true,
      measured: 50,
      limit: '50±3',
    });
    assert.equal(event.data.checks.length, 12);
    assert.deepEqual(event.data.decode, {
      device: 'software',
      reason: 'software decode (libx265 encodes on the CPU)',
    });
    // A 2 s clip is compared whole, and the event says so.
    assert.equal(event.data.ssimSegments?.length, 1);
    assert.equal(event.data.ssimSegments[0]?.startSec, 0);
    assert.equal(event.data.ssimSegments[0]?.ssim, ssim.measured);
  });

  it('fails an output that dropped an audio track, with the languages measured and expected', async () => {
    const dropped = join(library, 'dropped.mp4');
    await runFfmpeg([
      '-nostdin',
      '-v',
      'error',
      '-i',
      goodOutput,
      '-map',
      '0:v',
      '-map',
      '0:a:0',
      '-map',
      '0:s',
      '-c',
      'copy',
      dropped,
    ]);
    await publisher.emit(
      { type: 'encode.completed', data: completed(dropped) },
      { fileId: 'dropped' },
    );
    const event = await verdict('dropped');
    assert.equal(event.type, 'verify.failed');
    assert.deepEqual(failed(event.data.checks), [
      { name: 'audio-streams', passed: false, measured: '1 (eng)', limit: '2 (eng, fra)' },
    ]);
  });
});

describe('verifyEncode with real media', () => {
  it('fails a byte-truncated output that still probes at full length on the decode pass', async () => {
    const cut = join(library, 'truncated.mp4');
    const bytes = await readFile(goodOutput);
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const checks = await verifyEncode(completed(cut));
    assert.deepEqual(
      failed(checks).map((c) => c.name),
      ['decode', 'frame-count'],
    );
    assert.match(String(named(checks, 'decode')?.measured), /error/);
    const frames = named(checks, 'frame-count')?.measured;
    assert.ok(typeof frames === 'number' && frames < 48, `decoded ${String(frames)} of 50`);
    assert.equal(
      named(checks, 'duration')?.passed,
      true,
      'the header still claims the full duration',
    );
  });

  it('fails an mkv cut off at 60 % whose header still claims the full length on frame-count', async () => {
    const mkv = join(library, 'whole.mkv');
    await runFfmpeg([
      '-nostdin',
      '-v',
      'error',
      '-i',
      goodOutput,
      '-map',
      '0',
      '-c',
      'copy',
      '-c:s',
      'srt',
      mkv,
    ]);
    const cut = join(library, 'cut.mkv');
    const bytes = await readFile(mkv);
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const checks = await verifyEncode(
      completed(cut, { target: { videoCodec: 'hevc', container: 'mkv' } }),
    );
    assert.equal(named(checks, 'duration')?.passed, true, 'the header claims the full length');
    const frames = named(checks, 'frame-count');
    assert.equal(frames?.passed, false, JSON.stringify(checks));
    assert.equal(frames?.limit, '50±3');
    assert.ok(typeof frames.measured === 'number' && frames.measured < 40, String(frames.measured));
  });

  it('fails an output that lost ten frames in the middle on frame-count alone', async () => {
    const holed = join(library, 'holed.mp4');
    // The timestamps pass through, so the gap leaves the duration as it was.
    await encodeHevc(sourcePath, holed, [
      '-vf',
      "select='not(between(n,20,29))'",
      '-fps_mode',
      'passthrough',
    ]);
    const checks = await verifyEncode(completed(holed));
    assert.deepEqual(failed(checks), [
      { name: 'frame-count', passed: false, measured: 40, limit: '50±3' },
    ]);
  });

  for (const [encoder, device] of [
    ['hevc_nvenc', 'cuda'],
    ['hevc_qsv', 'qsv'],
    ['hevc_vaapi', 'vaapi'],
  ] as const) {
    it(`tries decoding a ${encoder} output on ${device} and falls back to software when the trial fails`, async () => {
      // This machine has no GPU: the trial decode is real and fails, as on a host whose
      // device went away or whose driver cannot decode this stream.
      const outcome = await verifyOutput(completed(goodOutput, { encoder }));
      assert.deepEqual(failed(outcome.checks), []);
      assert.equal(outcome.decode?.device, 'software');
      assert.match(
        outcome.decode?.reason ?? '',
        new RegExp(`^software decode: the trial decode on ${device} failed \\(.+\\)$`),
      );
    });
  }

  it('decodes again in software when the device fails mid-file, and records why', async () => {
    const { result, decode } = await fullDecode(goodOutput, { device: 'cuda', reason: 'trial ok' });
    assert.deepEqual(result.errors, []);
    assert.equal(result.frames, 50);
    assert.equal(decode.device, 'software');
    assert.match(
      decode.reason,
      /^software decode: the decode on cuda reported .+; decoded again in software$/,
    );
  });

  it('samples four segments of a longer clip in the decode pass, each just past a source keyframe, as separate runs score them', async () => {
    // One-second GOPs in the source, two-second ones in the output: the output is decoded whole
    // anyway, so each segment starts just past the source's keyframe, and a segment paired a
    // frame off would score far lower on testsrc2 (0.87 against 0.96). The AAC track copied
    // into mkv starts the output's video 23 ms into the file, which must be added for the
    // output only.
    const long = join(library, 'long.mp4');
    await makeLongPair(long, join(library, 'long-out.mkv'));
    const out = join(library, 'long-out.mkv');
    const probed = await probeFacts(out);
    assert.ok(probed.ok && (probed.facts.video?.startSec ?? 0) > probed.facts.startSec);
    const st = await stat(long);
    const outcome = await verifyOutput(
      completed(out, {
        path: long,
        source: { size: st.size, mtimeMs: st.mtimeMs },
        target: { videoCodec: 'hevc', container: 'mkv' },
      }),
    );
    assert.deepEqual(failed(outcome.checks), []);
    const wanted = [1.9, 4.3, 6.7, 9.1];
    assert.equal(outcome.ssimSegments?.length, 4, JSON.stringify(outcome.ssimSegments));
    const offsets = {
      sourceSec: 0,
      outputSec: (probed.facts.video?.startSec ?? 0) - probed.facts.startSec,
    };
    for (const [i, s] of outcome.ssimSegments.entries()) {
      // Each starts just past one of the source's keyframes (every second).
      const key = Math.round((s.startSec - SEEK_PAST_KEYFRAME_SEC) * 1000) / 1000;
      assert.equal(key % 1, 0, `segment ${i} starts at ${s.startSec}`);
      const gap = wanted[i]! - s.startSec;
      assert.ok(
        gap > -0.15 && gap < 1,
        `segment ${i} starts at ${s.startSec}, wanted ${wanted[i]}`,
      );
      assert.ok(s.ssim >= 0.95, `segment at ${s.startSec} scored ${s.ssim}`);
      // The same frames as a run of its own that seeks both files there (to ±1e-6, the
      // rounding of ffmpeg's printed figures).
      const alone = await measureSsim(long, out, s, { offsets });
      assert.ok(
        Math.abs(alone.ssim - s.ssim) <= 2e-6,
        `${alone.ssim} alone, ${s.ssim} in one pass`,
      );
    }
  });

  it('finds an MPEG-TS source’s keyframes by reading its packets, as a seek there lands anywhere', async () => {
    // A recording's container: seeking lands on the nearest packet, not a keyframe, so a
    // segment decoded from there would start with frames a GOP late and score about 0.77.
    const ts = join(library, 'recording.ts');
    const out = join(library, 'recording-out.mkv');
    await makeLongPair(ts, out);
    const st = await stat(ts);
    const outcome = await verifyOutput(
      completed(out, {
        path: ts,
        source: { size: st.size, mtimeMs: st.mtimeMs },
        target: { videoCodec: 'hevc', container: 'mkv' },
      }),
    );
    assert.deepEqual(failed(outcome.checks), [], JSON.stringify(outcome.ssimSegments));
    assert.deepEqual(
      outcome.ssimSegments?.map((s) => s.startSec),
      [1.14, 4.14, 6.14, 9.14],
    );
  });

  it('compares a rotated source in separate runs, which turn it as the encode did', async () => {
    // The encode turned the pixels by the source's display matrix (ffmpeg's default); the
    // one-pass run's movie filter would not, and would compare the picture on its side.
    const rotated = join(library, 'rotated.mp4');
    await runFfmpeg([
      '-nostdin',
      '-v',
      'error',
      '-i',
      sourcePath,
      '-map',
      '0',
      '-c',
      'copy',
      '-metadata:s:v:0',
      'rotate=90',
      rotated,
    ]);
    const out = join(library, 'rotated-out.mp4');
    await encodeHevc(rotated, out);
    const facts = await probeFacts(rotated);
    assert.ok(facts.ok && facts.facts.video?.rotation !== null, 'the source carries a matrix');
    const st = await stat(rotated);
    const outcome = await verifyOutput(
      completed(out, { path: rotated, source: { size: st.size, mtimeMs: st.mtimeMs } }),
    );
    assert.deepEqual(failed(outcome.checks), []);
    assert.ok((named(outcome.checks, 'ssim')?.measured as number) >= 0.95);
  });

  it('passes an intact output whose source logs decode errors in a sampled segment, and says so', async () => {
    // A video packet of the source's third segment (6.14–7.14 s) overwritten in part: its
    // demux (the packet count, from the mp4 index) is intact, its decode there is not. The
    // output was made before.
    const long = join(library, 'damaged-src.mp4');
    const out = join(library, 'damaged-out.mkv');
    await makeLongPair(long, out);
    const probe = execFileSync('ffprobe', [
      ...['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,pos,size'],
      ...['-of', 'json', long],
    ]).toString();
    const { packets } = JSON.parse(probe) as {
      packets: { pts_time: string; pos: string; size: string }[];
    };
    const hit = packets.find((p) => Number(p.pts_time) > 6.5 && Number(p.pts_time) < 6.6);
    assert.ok(hit, probe.slice(0, 200));
    const [pos, size] = [Number(hit.pos), Number(hit.size)];
    const bytes = await readFile(long);
    bytes.fill(0x5a, pos, pos + Math.floor(size / 2));
    await writeFile(long, bytes);
    const st = await stat(long);
    const outcome = await verifyOutput(
      completed(out, {
        path: long,
        source: { size: st.size, mtimeMs: st.mtimeMs },
        target: { videoCodec: 'hevc', container: 'mkv' },
      }),
    );
    assert.equal(named(outcome.checks, 'decode')?.passed, true, JSON.stringify(outcome.checks));
    assert.equal(named(outcome.checks, 'frame-count')?.passed, true);
    assert.match(outcome.decode?.reason ?? '', /came from the source’s segments/);
  });

  it('fails an output cut short on duration', async () => {
    const short = join(library, 'short.mp4');
    await runFfmpeg([
      '-nostdin',
      '-v',
      'error',
      '-i',
      goodOutput,
      '-map',
      '0',
      '-t',
      '1',
      '-c',
      'copy',
      short,
    ]);
    const checks = await verifyEncode(completed(short));
    assert.deepEqual(
      failed(checks).map((c) => c.name),
      ['duration'],
    );
    assert.match(String(named(checks, 'duration')?.limit), /^2(\.\d+)?±0\.5$/);
  });

  it('fails an output of the wrong picture on SSIM', async () => {
    const wrong = join(library, 'wrong-picture.mp4');
    const bars = join(library, 'bars.mp4');
    await runFfmpeg([
      '-nostdin',
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'mandelbrot=size=320x240:rate=25',
      '-i',
      sourcePath,
      '-map',
      '0:v',
      '-map',
      '1:a',
      '-map',
      '1:s',
      '-t',
      '2',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'copy',
      '-c:s',
      'copy',
      bars,
    ]);
    await encodeHevc(bars, wrong);
    const checks = await verifyEncode(completed(wrong));
    assert.deepEqual(
      failed(checks).map((c) => c.name),
      ['ssim'],
    );
    const ssim = named(checks, 'ssim');
    assert.ok(typeof ssim?.measured === 'number' && ssim.measured < 0.95, JSON.stringify(ssim));
  });

  it('fails the size guard at the policy ratio and says so', async () => {
    const checks = await verifyEncode(completed(goodOutput, { limits: { maxSizeRatio: 0.01 } }));
    assert.deepEqual(
      failed(checks).map((c) => c.name),
      ['size-guard'],
    );
    assert.equal(named(checks, 'size-guard')?.limit, 0.01);
  });

  it('fails the output of a source changed since it was planned on source-unchanged alone, and deletes it', async () => {
    const changedSource = join(library, 'changed.mp4');
    await copyFile(sourcePath, changedSource);
    const output = join(library, '.conform-work', 'changed.mp4');
    await mkdir(join(library, '.conform-work'), { recursive: true });
    await copyFile(goodOutput, output);
    // Otherwise a perfect encode: only the planned stamp is older than the file now there.
    const stamp = { size: sourceSize, mtimeMs: (await stat(changedSource)).mtimeMs - 5_000 };
    await publisher.emit(
      {
        type: 'encode.completed',
        data: completed(output, { path: changedSource, source: stamp }),
      },
      { fileId: 'changed' },
    );
    const event = await verdict('changed');
    assert.equal(event.type, 'verify.failed');
    assert.deepEqual(
      event.data.checks.map((c) => [c.name, c.passed]),
      [['source-unchanged', false]],
    );
    assert.equal(await stat(output).catch(() => null), null, 'the stale output is deleted');
    assert.ok(await stat(changedSource), 'the source is untouched');
  });

  it('fails a missing output on output-probes with the reason', async () => {
    const checks = await verifyEncode(completed(join(library, 'never-written.mp4')));
    assert.equal(checks.length, 1);
    assert.equal(checks[0]?.name, 'output-probes');
    assert.match(String(checks[0]?.measured), /No such file/);
  });

  it('fails the partial output of an encode that filled the work directory (a real 1 MiB tmpfs)', async () => {
    const work = join(library, 'full-work');
    const unmount = await mountTmpfs(work, '1m');
    try {
      const filler = join(work, 'filler');
      // Fill the filesystem to the brim, then leave 8 KiB: the encode starts and runs out.
      await assert.rejects(writeFile(filler, Buffer.alloc(2 * 1024 * 1024)), { code: 'ENOSPC' });
      await truncate(filler, (await stat(filler)).size - 8 * 1024);
      const partial = join(work, 'out.mp4');
      // ffmpeg 5.1 reports "Error writing trailer: No space left on device" and yet exits 0,
      // so nothing but verification stands between this 8 KiB leftover file and the library.
      await runFfmpeg([
        '-nostdin',
        '-v',
        'error',
        '-y',
        '-i',
        sourcePath,
        '-map',
        '0',
        '-c:v',
        'libx265',
        '-preset',
        'ultrafast',
        '-x265-params',
        'log-level=error',
        '-c:a',
        'copy',
        '-c:s',
        'copy',
        partial,
      ]).catch(() => undefined);
      assert.ok((await stat(partial)).size <= 8 * 1024, 'the disk really was full');
      const checks = await verifyEncode(completed(partial));
      assert.equal(
        checks.every((c) => c.passed),
        false,
      );
      assert.equal(checks[0]?.name, 'output-probes');
      assert.equal(checks[0]?.passed, false);
      assert.equal((await stat(sourcePath)).size, sourceSize, 'the source is untouched');
      await truncate(filler, 0);
    } finally {
      unmount();
    }
  });
});

describe('separate SSIM runs with an MPEG-TS source', () => {
  it('finds the source’s keyframes from its packets and seeks to before them', async () => {
    // The path behind a GPU decode: the device decodes (here it fails: no GPU, so the pass is
    // run again in software) while each segment is a run of its own that seeks both files.
    // A seek in MPEG-TS lands on whatever packet is nearest, so the source is sought to before
    // the keyframe its segment starts just past, and its frames up to the segment dropped.
    const ts = join(library, 'separate.ts');
    const out = join(library, 'separate-out.mkv');
    await makeLongPair(ts, out);
    const st = await stat(ts);
    const [source, output] = await Promise.all([probeFacts(ts), probeFacts(out)]);
    assert.ok(source.ok && output.ok);
    const measured = await measureOutput(
      completed(out, {
        path: ts,
        source: { size: st.size, mtimeMs: st.mtimeMs },
        target: { videoCodec: 'hevc', container: 'mkv' },
      }),
      source.facts,
      output.facts,
      { device: 'cuda', reason: 'decoding on cuda' },
      0.95,
    );
    assert.deepEqual(failed(measured.checks), [], JSON.stringify(measured.ssimSegments));
    assert.equal(measured.ssimSegments?.length, 4);
    for (const s of measured.ssimSegments ?? []) {
      // Just past one of the source's keyframes (every second), and the same picture.
      const key = Math.round((s.startSec - SEEK_PAST_KEYFRAME_SEC) * 1000) / 1000;
      assert.equal(key % 1, 0, `segment starts at ${s.startSec}`);
      assert.ok(s.ssim >= 0.95, `segment at ${s.startSec} scored ${s.ssim}`);
    }
  });
});
