import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { VerificationCheck } from '@conform/contracts';
import {
  combineResults,
  decodeInRanges,
  describeRanges,
  keyframeTimes,
  listsKeyframes,
  outputWindows,
  listVideoPackets,
  packetsFromKeyframe,
  planSourceSegments,
  probeFacts,
  rangeArgs,
  rangeWindow,
  segmentsIn,
  sourceKeyframes,
  splitKeyframes,
  splitRanges,
  splitsCodec,
  verifyOutput,
  videoOffset,
  videoOrigin,
  type MediaFacts,
} from '../src/index.js';
import { completedFor, makeLongPair } from './media.js';

const segments = [
  { startSec: 3.14, lengthSec: 1 },
  { startSec: 7.14, lengthSec: 1 },
  { startSec: 11.14, lengthSec: 1 },
  { startSec: 15.14, lengthSec: 1 },
];

describe('decode ranges (pure)', () => {
  it('splits at the keyframe nearest each equal part, never inside a segment', () => {
    // x265's default 10 s GOP on a 20 s clip: one boundary, at 10 s.
    assert.deepEqual(splitRanges(20, [0, 10], segments, 2), [
      { fromSec: 0, toSec: 10 },
      { fromSec: 10, toSec: null, seekPastSec: 0.14 },
    ]);
    // 7.5 s is inside the segment at 7.14 s: the next nearest keyframe is taken.
    assert.deepEqual(
      splitRanges(20, [6, 7.5, 9], segments, 2).map((r) => r.fromSec),
      [0, 9],
    );
    // Four parts of a film with 2 s GOPs.
    assert.deepEqual(
      splitRanges(
        40,
        Array.from({ length: 20 }, (_, i) => i * 2),
        [],
        4,
      ).map((r) => r.fromSec),
      [0, 10, 20, 30],
    );
  });

  it('never seeks a range as far as the keyframe after its own, nor splits other codecs', () => {
    // Keyframes 0.1 s apart (a short GOP): sought 0.05 s past, the seek lands on the range's
    // keyframe or before it, and no frame of the range is skipped.
    const [, second] = splitRanges(20, [0, 10, 10.1, 10.2], [], 2);
    assert.deepEqual(second, { fromSec: 10, toSec: null, seekPastSec: 0.05 });
    const output = { startSec: 0, video: { startSec: 0 } } as MediaFacts;
    assert.equal(rangeWindow(second!, output).seekSec, 10.05);
    assert.equal(splitsCodec('hevc'), true);
    assert.equal(splitsCodec('h264'), true);
    assert.equal(splitsCodec('av1'), false);
    assert.equal(splitsCodec(undefined), false);
  });

  it('does not split without a keyframe that leaves each range at least a quarter part', () => {
    // A 10 s clip with x265's 10 s GOP has a keyframe at 0 only.
    assert.deepEqual(splitRanges(10, [0], [], 2), [{ fromSec: 0, toSec: null }]);
    // 2 s into a 20 s clip: a range of 2 s is not worth a process (a quarter part is 2.5 s).
    assert.deepEqual(splitRanges(20, [0, 2, 19], [], 2), [{ fromSec: 0, toSec: null }]);
    // A short clip compared whole by SSIM: no keyframe lies outside its one segment.
    assert.deepEqual(splitRanges(8, [0, 2, 4, 6], [{ startSec: 0, lengthSec: 8 }], 2), [
      { fromSec: 0, toSec: null },
    ]);
    assert.deepEqual(splitRanges(20, [10], segments, 1), [{ fromSec: 0, toSec: null }]);
    assert.deepEqual(splitRanges(null, [10], segments, 2), [{ fromSec: 0, toSec: null }]);
  });

  it('gives each segment to the range it lies in', () => {
    const [a, b] = splitRanges(20, [0, 10], segments, 2);
    assert.deepEqual(segmentsIn(a!, segments), [0, 1]);
    assert.deepEqual(segmentsIn(b!, segments), [2, 3]);
  });

  it('seeks each range just past its keyframe and passes its frames by timestamp', () => {
    // An mkv whose video starts 23 ms into the file, at timestamp 0.023.
    const output = { startSec: 0, video: { startSec: 0.023 } } as MediaFacts;
    assert.deepEqual(rangeWindow({ fromSec: 0, toSec: 10 }, output), {
      seekSec: null,
      startPts: null,
      endPts: 10.023,
    });
    assert.deepEqual(rangeWindow({ fromSec: 10, toSec: null, seekPastSec: 0.14 }, output), {
      seekSec: 10.163,
      startPts: 10.023,
      endPts: null,
    });
  });

  it('runs each range single-threaded on the output’s own timestamps, every audio in the last', () => {
    const times = { sourceOriginSec: 0, sourceOffsetSec: 0, outputOffsetSec: 0.023 };
    const window = { seekSec: 10.163, startPts: 10.023, endPts: null };
    assert.deepEqual(rangeArgs('/w/out.mkv', '/m/src.mkv', window, [], times, [], true), [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-nostats', '-progress', 'pipe:1'],
      ...['-stats_period', '5', '-threads', '1', '-copyts', '-noaccurate_seek', '-ss', '10.163'],
      ...['-i', '/w/out.mkv', '-i', '/w/out.mkv', '-filter_complex'],
      '[0:v:0]trim=start=10.023,split=1[all]',
      ...['-map', '[all]', '-map', '1:a?', '-f', 'null', '-'],
    ]);
    const first = rangeArgs(
      '/w/out.mkv',
      '/m/src.mkv',
      { seekSec: null, startPts: null, endPts: 10.023 },
      [{ startSec: 3.14, lengthSec: 1 }],
      times,
      ['/t/s0'],
      false,
    );
    assert.deepEqual(first.slice(9, 14), ['-threads', '1', '-copyts', '-i', '/w/out.mkv']);
    assert.match(
      first[first.indexOf('-filter_complex') + 1]!,
      /^\[0:v:0\]trim=end=10\.023,split=2\[all\]\[v0\];\[v0\]trim=start=3\.163:duration=1,/,
    );
    assert.deepEqual(first.slice(-5), ['-map', '[all]', '-f', 'null', '-']);
  });

  it('adds up the ranges: every frame counted, every error kept, one failed run fails all', () => {
    assert.deepEqual(
      combineResults([
        { exitCode: 0, errors: [], frames: 250 },
        { exitCode: 0, errors: [], frames: 250 },
      ]),
      { exitCode: 0, errors: [], frames: 500 },
    );
    assert.deepEqual(
      combineResults([
        { exitCode: 0, errors: [], frames: 250 },
        { exitCode: 1, errors: ['corrupt'], frames: null },
      ]),
      { exitCode: 1, errors: ['corrupt'], frames: null },
    );
  });

  it('reads keyframe times from ffprobe’s packets, on the video’s own timeline', () => {
    const packets = JSON.stringify({
      packets: [
        { pts_time: '4.023', flags: 'K__' },
        { pts_time: '4.063', flags: '___' },
        { pts_time: '6.023', flags: 'K__' },
      ],
    });
    assert.deepEqual(keyframeTimes(packets, 0.023), [4, 6]);
    assert.deepEqual(keyframeTimes('not json', 0), []);
    assert.equal(
      describeRanges([
        { fromSec: 0, toSec: 6 },
        { fromSec: 6, toSec: null },
      ]),
      'decoded in 2 ranges at once, from 0 s, 6 s',
    );
  });
});

describe('decode ranges with real media', () => {
  let dir: string;
  let source: string;
  let output: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conform-verifier-ranges-'));
    source = join(dir, 'source.mp4');
    output = join(dir, 'output.mkv');
    // 300 frames; the output's keyframes every 2 s, so a 2-way split lands at 6 s.
    await makeLongPair(source, output);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const completed = (outputPath: string) => completedFor(dir, source, outputPath);
  const named = (checks: VerificationCheck[], name: string) => checks.find((c) => c.name === name);

  it('counts every frame once over the ranges and scores the segments as one run does', async () => {
    const split = await verifyOutput(await completed(output), { decodeRanges: 2 });
    assert.deepEqual(
      split.checks.filter((c) => !c.passed),
      [],
    );
    assert.match(split.decode?.reason ?? '', /; decoded in 2 ranges at once, from 0 s, 6 s$/);
    assert.deepEqual(named(split.checks, 'frame-count'), {
      name: 'frame-count',
      passed: true,
      measured: 300,
      limit: '300±3',
    });
    const whole = await verifyOutput(await completed(output), { decodeRanges: 1 });
    assert.doesNotMatch(whole.decode?.reason ?? '', /ranges/);
    assert.equal(split.ssimSegments?.length, 4);
    assert.deepEqual(split.ssimSegments, whole.ssimSegments);
  });

  it('counts exactly the frames an output holding ten frames less has, over the ranges', async () => {
    // Frames 200–209 (8–8.4 s, in the second range) dropped; timestamps pass through.
    const holed = join(dir, 'holed.mkv');
    await makeLongPair(join(dir, 'holed-src.mp4'), holed, [
      '-vf',
      "select='not(between(n,200,209))'",
      '-fps_mode',
      'passthrough',
    ]);
    const facts = await probeFacts(holed);
    assert.ok(facts.ok);
    const keys = await splitKeyframes(holed, facts.facts, 2);
    const ranges = splitRanges(facts.facts.durationSec, keys, [], 2);
    assert.equal(ranges.length, 2, JSON.stringify(keys));
    const run = await decodeInRanges(holed, source, facts.facts, ranges, [], {
      sourceOriginSec: 0,
      sourceOffsetSec: 0,
      outputOffsetSec: videoOrigin(facts.facts),
    });
    assert.deepEqual(run.result, { exitCode: 0, errors: [], frames: 290 });
    // And the verdict: frame-count fails, decided again by one run.
    const outcome = await verifyOutput(await completed(holed), { decodeRanges: 2 });
    assert.deepEqual(
      outcome.checks.filter((c) => !c.passed),
      [{ name: 'frame-count', passed: false, measured: 290, limit: '300±3' }],
    );
    assert.match(
      outcome.decode?.reason ?? '',
      /the decode in 2 ranges counted 290 frames, so the output was decoded again in one run$/,
    );
  });

  it('fails an output damaged in its second range on decode, and one cut off there', async () => {
    const probe = execFileSync('ffprobe', [
      ...['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,pos,size'],
      ...['-of', 'json', output],
    ]).toString();
    const { packets } = JSON.parse(probe) as {
      packets: { pts_time: string; pos: string; size: string }[];
    };
    const hit = packets.find((p) => Number(p.pts_time) > 8.5 && Number(p.pts_time) < 8.6);
    assert.ok(hit, probe.slice(0, 200));
    const bytes = await readFile(output);
    const damaged = Buffer.from(bytes);
    damaged.fill(0x5a, Number(hit.pos), Number(hit.pos) + Math.floor(Number(hit.size) / 2));
    const damagedPath = join(dir, 'damaged.mkv');
    await writeFile(damagedPath, damaged);
    const outcome = await verifyOutput(await completed(damagedPath), { decodeRanges: 2 });
    assert.equal(named(outcome.checks, 'decode')?.passed, false, JSON.stringify(outcome.checks));
    assert.match(outcome.decode?.reason ?? '', /the decode in 2 ranges reported .*error/);

    const cutPath = join(dir, 'cut.mkv');
    await writeFile(cutPath, bytes.subarray(0, Math.floor(bytes.length * 0.8)));
    const cut = await verifyOutput(await completed(cutPath), { decodeRanges: 2 });
    const frames = named(cut.checks, 'frame-count');
    assert.equal(frames?.passed, false, JSON.stringify(cut.checks));
    assert.ok(
      typeof frames.measured === 'number' && frames.measured < 290,
      String(frames.measured),
    );
  });

  it('reads a short source’s keyframes from its packet listing, as a seek to each finds them', async () => {
    const facts = await probeFacts(source);
    assert.ok(facts.ok);
    assert.ok(listsKeyframes(facts.facts));
    const listing = listVideoPackets(source);
    const listed = await sourceKeyframes(source, facts.facts, { listing });
    const sought = await sourceKeyframes(source, facts.facts);
    assert.equal(listed.length, 4);
    assert.ok(
      listed.every((k) => k !== null && k >= 0),
      JSON.stringify(listed),
    );
    assert.deepEqual(listed, sought);
    // The same listing counts the frames.
    assert.equal(packetsFromKeyframe((await listing)!), 300);
  });

  it('reads the output’s keyframes near each boundary in its facts probe, placed by the source', async () => {
    const source_ = await probeFacts(source);
    assert.ok(source_.ok);
    const windows = outputWindows({ encoder: 'libx265' }, source_.facts, { decodeRanges: 2 });
    assert.deepEqual(windows, ['2%10.14']); // 6 s ± 3 s, a second wider either side
    const merged = await probeFacts(output, { windows });
    const plain = await probeFacts(output);
    assert.ok(merged.ok && plain.ok);
    assert.deepEqual(merged.facts, plain.facts);
    assert.equal(plain.keyframes, undefined);
    const keys = await splitKeyframes(output, plain.facts, 2);
    for (const k of keys)
      assert.ok(merged.keyframes?.includes(k), JSON.stringify(merged.keyframes));
    assert.deepEqual(
      await splitKeyframes(output, plain.facts, 2, { listed: merged.keyframes ?? [] }),
      merged.keyframes,
    );
  });

  it('reads the keyframes near each boundary from the output’s packets', async () => {
    const facts = await probeFacts(output);
    assert.ok(facts.ok);
    const keys = await splitKeyframes(output, facts.facts, 2);
    // Windows of ±3 s around 6 s: the keyframes at 4, 6 and 8 s (a seek may read from 2 s).
    for (const k of [4, 6, 8]) assert.ok(keys.includes(k), JSON.stringify(keys));
    const source_ = await probeFacts(source);
    assert.ok(source_.ok);
    const planned = await planSourceSegments(source, source_.facts);
    assert.deepEqual(
      splitRanges(facts.facts.durationSec, keys, planned, 2).map((r) => r.fromSec),
      [0, 6],
    );
    assert.ok(videoOffset(facts.facts) >= 0);
  });
});
