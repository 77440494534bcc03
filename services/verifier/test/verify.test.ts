import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EncodeTarget, MediaSummary, VerificationCheck } from '@conform/contracts';
import { durationToleranceSec, verificationEvent, verifyOutput } from '../src/index.js';

const source: MediaSummary = {
  container: 'mov,mp4,m4a,3gp,3g2,mj2',
  durationSec: 600,
  bitRate: 4_000_000,
  video: { codec: 'h264', width: 1920, height: 1080, pixFmt: 'yuv420p' },
  audioStreams: 2,
  subtitleStreams: 1,
};
const good: MediaSummary = {
  ...source,
  video: { codec: 'hevc', width: 1920, height: 1080, pixFmt: 'yuv420p' },
};
const mp4: EncodeTarget = { videoCodec: 'hevc', container: 'mp4' };

const check = (checks: VerificationCheck[], name: string) => {
  const found = checks.find((c) => c.name === name);
  assert.ok(found, `check ${name} present`);
  return found;
};

describe('durationToleranceSec', () => {
  it('is half a second for short files and 0.5 % for long ones', () => {
    assert.equal(durationToleranceSec(2), 0.5);
    assert.equal(durationToleranceSec(600), 3);
  });
});

describe('verifyOutput', () => {
  describe('given a faithful output', () => {
    it('passes every check, each with measured value and limit', () => {
      const checks = verifyOutput(source, good, mp4);
      assert.deepEqual(
        checks.map((c) => c.name),
        [
          'output-probes',
          'video-codec',
          'container',
          'duration',
          'audio-streams',
          'subtitle-streams',
        ],
      );
      assert.ok(checks.every((c) => c.passed));
      assert.deepEqual(check(checks, 'duration'), {
        name: 'duration',
        passed: true,
        measured: 600,
        limit: '600±3',
      });
    });
  });

  describe('given a flawed output', () => {
    const cases: {
      what: string;
      output: MediaSummary;
      target?: EncodeTarget;
      failing: Partial<VerificationCheck>;
    }[] = [
      {
        what: 'still h264',
        output: { ...good, video: source.video },
        failing: { name: 'video-codec', measured: 'h264', limit: 'hevc' },
      },
      {
        what: 'no video',
        output: { ...good, video: null },
        failing: { name: 'video-codec', measured: null, limit: 'hevc' },
      },
      {
        what: 'an audio track missing',
        output: { ...good, audioStreams: 1 },
        failing: { name: 'audio-streams', measured: 1, limit: 2 },
      },
      {
        what: 'subtitles missing',
        output: { ...good, subtitleStreams: 0 },
        failing: { name: 'subtitle-streams', measured: 0, limit: 1 },
      },
      {
        what: '4 s short of 600 s',
        output: { ...good, durationSec: 596 },
        failing: { name: 'duration', measured: 596, limit: '600±3' },
      },
      {
        what: 'no duration',
        output: { ...good, durationSec: null },
        failing: { name: 'duration', measured: null },
      },
      {
        what: 'matroska when mp4 was asked for',
        output: { ...good, container: 'matroska,webm' },
        failing: { name: 'container', measured: 'matroska,webm', limit: 'mp4' },
      },
    ];
    for (const c of cases) {
      it(`${c.what}: fails ${c.failing.name} and only it`, () => {
        const checks = verifyOutput(source, c.output, c.target ?? mp4);
        const failed = checks.filter((x) => !x.passed);
        assert.equal(failed.length, 1, JSON.stringify(failed));
        assert.deepEqual({ ...failed[0], ...c.failing }, failed[0]);
      });
    }

    it('within tolerance (2.6 s short of 600 s): passes the duration check', () => {
      assert.equal(
        check(verifyOutput(source, { ...good, durationSec: 597.4 }, mp4), 'duration').passed,
        true,
      );
    });
  });

  describe('given no output media', () => {
    it('fails only the output-probes check, with the reason', () => {
      assert.deepEqual(verifyOutput(source, null, mp4, 'No such file or directory'), [
        {
          name: 'output-probes',
          passed: false,
          measured: 'No such file or directory',
          limit: 'readable media',
        },
      ]);
    });
  });

  describe('given a source without a known duration', () => {
    it('cannot pass the duration check', () => {
      const checks = verifyOutput({ ...source, durationSec: null }, good, mp4);
      assert.equal(check(checks, 'duration').passed, false);
    });
  });
});

describe('verificationEvent', () => {
  const completed = {
    library: '/lib',
    path: '/lib/a.mp4',
    source: { size: 1, mtimeMs: 1 },
    target: mp4,
    encoder: 'libx265',
    outputPath: '/lib/.conform-work/a.mp4',
    outputSize: 1,
    elapsedMs: 1,
  };

  it('given every check passing, is verify.passed', () => {
    assert.equal(
      verificationEvent(completed, { ok: true, media: source }, { ok: true, media: good }).type,
      'verify.passed',
    );
  });

  it('given an unreadable source, is verify.failed on source-probes', () => {
    const event = verificationEvent(
      completed,
      { ok: false, reason: 'gone' },
      { ok: true, media: good },
    );
    assert.equal(event.type, 'verify.failed');
    assert.deepEqual(event.type === 'verify.failed' && event.data.checks, [
      { name: 'source-probes', passed: false, measured: 'gone', limit: 'readable media' },
    ]);
  });
});
