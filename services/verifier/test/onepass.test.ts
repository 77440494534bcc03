import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  filterValue,
  boundaryWindows,
  lastKeyframes,
  LISTED_KEYFRAMES_MAX_SEC,
  listedKeyframes,
  listsKeyframes,
  meanSsimOfStats,
  onePassArgs,
  onePassFits,
  onePassGraph,
  outputWindows,
  seeksToAnyPacket,
  videoPacketsOf,
  type MediaFacts,
} from '../src/index.js';

const times = { sourceOriginSec: 0.021, sourceOffsetSec: 0.021, outputOffsetSec: 0.04 };

describe('one-pass decode and SSIM (pure)', () => {
  it('escapes a library path for a filter option inside a filtergraph', () => {
    assert.equal(filterValue('/m/plain.mkv'), '/m/plain.mkv');
    // Option level (\ ' :), then graph level (\ ' [ ] , ;).
    assert.equal(filterValue("/m/a:b, [c]; it's"), "/m/a\\\\:b\\, \\[c\\]\\; it\\\\\\'s");
    assert.equal(filterValue('v:0'), 'v\\\\:0');
  });

  it('splits the output into the whole and one trimmed copy per segment, each against the source', () => {
    const graph = onePassGraph(
      '/m/src.mkv',
      [
        { startSec: 3.161, lengthSec: 1 },
        { startSec: 7.161, lengthSec: 1 },
      ],
      times,
      ['/t/ssim-0.log', '/t/ssim-1.log'],
    );
    assert.equal(
      graph,
      [
        '[0:v:0]split=3[all][v0][v1]',
        '[v0]trim=start=3.201:duration=1,setpts=PTS-STARTPTS[o0]',
        'movie=filename=/m/src.mkv:seek_point=3.182:dec_threads=1:streams=v\\\\:0,' +
          'trim=start=3.182:duration=1,setpts=PTS-STARTPTS[s0]',
        '[o0][s0]scale2ref[so0][ss0]',
        '[so0][ss0]ssim=stats_file=/t/ssim-0.log,nullsink',
        '[v1]trim=start=7.201:duration=1,setpts=PTS-STARTPTS[o1]',
        'movie=filename=/m/src.mkv:seek_point=7.182:dec_threads=1:streams=v\\\\:0,' +
          'trim=start=7.182:duration=1,setpts=PTS-STARTPTS[s1]',
        '[o1][s1]scale2ref[so1][ss1]',
        '[so1][ss1]ssim=stats_file=/t/ssim-1.log,nullsink',
      ].join(';'),
    );
  });

  it('deinterlaces the source’s segment as the plan did', () => {
    const graph = onePassGraph('/m/src.ts', [{ startSec: 0, lengthSec: 8 }], times, ['/t/s'], {
      parity: 'tff',
    });
    assert.match(
      graph,
      /trim=start=0\.021:duration=8,bwdif=mode=send_frame:parity=tff:deint=all,setpts=PTS-STARTPTS\[s0\]/,
    );
  });

  it('keeps the decode pass’s arguments: frame threads, progress, every audio stream', () => {
    const args = onePassArgs('/w/out.mkv', '/m/src.mkv', [], times, []);
    assert.deepEqual(args, [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-nostats', '-progress', 'pipe:1'],
      ...['-stats_period', '5', '-threads', '0', '-i', '/w/out.mkv', '-filter_complex'],
      '[0:v:0]split=1[all]',
      ...['-map', '[all]', '-map', '0:a?', '-f', 'null', '-'],
    ]);
  });

  it('averages the per-frame All figures of a stats file, as ffmpeg’s summary does', () => {
    const stats =
      'n:1 Y:0.990000 U:0.995000 V:0.996000 All:0.992000 (20.969100)\n' +
      'n:2 Y:0.980000 U:0.995000 V:0.996000 All:0.985000 (18.239087)\n';
    assert.equal(meanSsimOfStats(stats), 0.9885);
    assert.equal(meanSsimOfStats(''), null);
  });

  it('runs in one pass in software, unless the source is turned by a display matrix', () => {
    const facts = (rotation: number | null) => ({ video: { rotation } }) as MediaFacts;
    const software = { device: 'software' as const, reason: 'software decode' };
    assert.equal(onePassFits(software, facts(null)), true);
    assert.equal(onePassFits(software, facts(-0)), true);
    assert.equal(onePassFits(software, facts(90)), false);
    assert.equal(onePassFits({ device: 'cuda', reason: 'on cuda' }, facts(null)), false);
  });

  it('seeks an MPEG-TS source to before its keyframe, whose packets were read for it', () => {
    assert.equal(seeksToAnyPacket('mpegts'), true);
    assert.equal(seeksToAnyPacket('matroska,webm'), false);
    const graph = onePassGraph(
      '/m/rec.ts',
      [{ startSec: 4.14, lengthSec: 1 }],
      {
        sourceOriginSec: 1.423,
        sourceOffsetSec: 0.023,
        outputOffsetSec: 0,
        seekBackSec: 0.24,
      },
      ['/t/s'],
    );
    assert.match(graph, /seek_point=3\.923:.*trim=start=5\.563:duration=1/);
    const packets = JSON.stringify({
      packets: [
        { pts_time: '1.423', flags: 'K_' },
        { pts_time: '2.423', flags: '__' },
        { pts_time: '3.423', flags: 'K_' },
        { pts_time: '5.423', flags: 'K_' },
      ],
    });
    // Keyframes 0, 2 and 4 s into the video; none in the 2 s window before 7 s.
    assert.deepEqual(lastKeyframes(packets, [3.9, 4, 1.5, 7], 1.423, 2), [2, 4, 0, null]);
  });

  it('finds the keyframe at or before each point among listed packets, within a window if given', () => {
    const listed = videoPacketsOf('1.423,K_\n2.423,__\nN/A,K_\n3.423,K_\n5.423,K_\n');
    assert.deepEqual(listed[2], { ptsSec: null, key: true });
    // Keyframes 0, 2 and 4 s into the video; the one without a time is not one to seek to.
    assert.deepEqual(listedKeyframes(listed, [3.9, 4, 1.5, 7], 1.423, Infinity), [2, 4, 0, 4]);
    assert.deepEqual(listedKeyframes(listed, [3.9, 4, 1.5, 7], 1.423, 2), [2, 4, 0, null]);
    assert.deepEqual(listedKeyframes([], [3.9], 0, Infinity), [null]);
  });

  it('reads the output’s packets near the range boundaries in its facts probe for a CPU encode only', () => {
    const facts = (durationSec: number, rotation: number | null = null) =>
      ({ container: 'matroska,webm', startSec: 0, durationSec, video: { rotation } }) as MediaFacts;
    assert.deepEqual(boundaryWindows(20, 2, 0), ['5%15.14']);
    assert.deepEqual(boundaryWindows(60, 3, 1.5, 1), ['10.5%32.64', '30.5%52.64']);
    const x265 = { encoder: 'libx265' };
    assert.deepEqual(outputWindows(x265, facts(20), { decodeRanges: 2 }), ['4%16.14']);
    assert.deepEqual(outputWindows(x265, facts(20), { decodeRanges: 1 }), []);
    assert.deepEqual(outputWindows(x265, facts(8), { decodeRanges: 2 }), []); // compared whole
    assert.deepEqual(outputWindows(x265, facts(20, 90), { decodeRanges: 2 }), []);
    assert.deepEqual(outputWindows({ encoder: 'hevc_nvenc' }, facts(20), { decodeRanges: 2 }), []);
  });

  it('reads the keyframes of sources up to two minutes long from their packet listing', () => {
    const facts = (durationSec: number | null) =>
      ({ container: 'matroska,webm', startSec: 0, durationSec }) as MediaFacts;
    assert.equal(LISTED_KEYFRAMES_MAX_SEC, 120);
    assert.equal(listsKeyframes(facts(20)), true);
    assert.equal(listsKeyframes(facts(120)), true);
    assert.equal(listsKeyframes(facts(121)), false);
    assert.equal(listsKeyframes(facts(null)), false);
  });
});
