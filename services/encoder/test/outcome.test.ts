import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleEvent, type EventEnvelope } from '@conform/contracts';
import { FfmpegAbortedError, FfmpegFailedError, type ProbeOutcome } from '@conform/media';
import {
  completedEvent,
  decideEncodeFailure,
  ENCODE_PROFILES,
  noProfileFailure,
  OutputCommitError,
  planDevices,
  planProfiles,
  progressMessage,
  pullSlotsFor,
  workDirFailure,
  type EncodeFailureFacts,
  type EncoderAvailability,
} from '../src/index.js';

const planned: EventEnvelope<'file.planned'> = {
  ...sampleEvent('file.planned', 'f1'),
  data: { ...sampleEvent('file.planned', 'f1').data, source: { size: 1_000, mtimeMs: 1 } },
};
const { library, path } = planned.data;
const facts = (over: Partial<EncodeFailureFacts> = {}): EncodeFailureFacts => ({
  error: new Error('boom'),
  workerStopped: false,
  pausedNow: false,
  sizeGuard: null,
  backend: 'cpu',
  encoder: 'libx265',
  attempt: 1,
  run: 1,
  retryDelayMs: 30_000,
  ...over,
});
const errno = (code: string) => Object.assign(new Error(code), { code, path: '/lib/x' });
const readable: ProbeOutcome = { ok: true, media: sampleEvent('file.probed').data.media };

describe('decideEncodeFailure', () => {
  it('hands the plan back as it is when the worker stops, whatever else happened', () => {
    const f = facts({ workerStopped: true, sizeGuard: { reason: 'big', projectedBytes: 2_000 } });
    assert.deepEqual(decideEncodeFailure(planned, f), { kind: 'stopped' });
  });
  it('turns a size-guard stop into a permanent failure with the ratios', () => {
    const o = decideEncodeFailure(
      planned,
      facts({ pausedNow: true, sizeGuard: { reason: 'too big', projectedBytes: 1_500 } }),
    );
    assert.equal(o.kind, 'failed');
    assert.deepEqual(o.kind === 'failed' && o.event.data, {
      library,
      path,
      encoder: 'libx265',
      reason: 'too big',
      permanent: true,
      sizeGuard: { measuredRatio: 1.5, limitRatio: 1 },
      policyVersion: planned.data.policyVersion,
    });
  });
  it('waits for room when ffmpeg or the commit ran out of space', () => {
    const ffmpeg = new FfmpegFailedError(1, ['write: No space left on device']);
    assert.equal(decideEncodeFailure(planned, facts({ error: ffmpeg })).kind, 'out-of-space');
    const commit = new OutputCommitError('/o', { cause: errno('ENOSPC') });
    assert.equal(decideEncodeFailure(planned, facts({ error: commit })).kind, 'out-of-space');
  });
  it('requeues a pause --now stop with its own discriminator, retried after a second', () => {
    for (const f of [
      facts({ pausedNow: true, attempt: 2, run: 3 }),
      facts({ error: new FfmpegAbortedError(), attempt: 2, run: 3 }),
    ]) {
      const o = decideEncodeFailure(planned, f);
      assert.equal(o.kind, 'requeued');
      if (o.kind !== 'requeued') return;
      assert.equal(o.discriminator, 'now-2-3');
      assert.equal(o.delayMs, 1_000);
      assert.equal(o.event.data.reason, 'manual');
      assert.equal(o.event.data.abandoned, true);
    }
  });
  it('retries NVENC out of sessions after the retry delay, without probing the source', () => {
    const err = new FfmpegFailedError(1, ['OpenEncodeSessionEx failed: out of memory (10)']);
    const o = decideEncodeFailure(planned, facts({ error: err, backend: 'nvenc' }));
    assert.equal(o.kind, 'retry');
    assert.equal(o.kind === 'retry' && o.delayMs, 30_000);
    assert.match(o.kind === 'retry' ? o.message : '', /no free NVENC session/);
  });
  it('asks for a source probe before judging an ffmpeg failure, then judges with it', () => {
    const err = new FfmpegFailedError(1, ['Invalid data found when processing input']);
    assert.deepEqual(decideEncodeFailure(planned, facts({ error: err })), {
      kind: 'probe-source',
    });
    const o = decideEncodeFailure(planned, facts({ error: err, sourceProbe: readable }));
    assert.equal(o.kind, 'failed');
    assert.match(o.kind === 'failed' ? o.event.data.reason : '', /cannot decode the source/);
    const gone: ProbeOutcome = { ok: false, reason: 'moov atom not found' } as ProbeOutcome;
    const u = decideEncodeFailure(planned, facts({ error: err, sourceProbe: gone }));
    assert.match(u.kind === 'failed' ? u.event.data.reason : '', /source is unreadable/);
  });
  it('retries a transient ffmpeg failure with back-off by attempt', () => {
    const err = new FfmpegFailedError(139, ['Segmentation fault']);
    const o = decideEncodeFailure(
      planned,
      facts({ error: err, sourceProbe: readable, attempt: 2, retryDelayMs: 1_000 }),
    );
    assert.deepEqual(o.kind === 'retry' && o.delayMs, 2_000);
  });
  it('fails permanently on a read-only output folder, retries a transient commit error', () => {
    const rofs = new OutputCommitError('/o', { cause: errno('EROFS') });
    assert.equal(decideEncodeFailure(planned, facts({ error: rofs })).kind, 'failed');
    const io = new OutputCommitError('/o', { cause: errno('EIO') });
    assert.equal(decideEncodeFailure(planned, facts({ error: io })).kind, 'retry');
  });
});

describe('the other outcomes', () => {
  it('no working encoder is permanent and names the node', () => {
    assert.deepEqual(noProfileFailure(planned, 'av1', 'enc@a').data, {
      library,
      path,
      encoder: 'none',
      reason: 'no working av1 encoder on enc@a (see conform doctor)',
      permanent: true,
    });
  });
  it('a permanent work-folder error fails the plan; a full disk or EIO is thrown on', () => {
    assert.equal(workDirFailure(planned, 'libx265', errno('EACCES'))?.data.permanent, true);
    assert.equal(workDirFailure(planned, 'libx265', errno('ENOSPC')), null);
    assert.equal(workDirFailure(planned, 'libx265', errno('EIO')), null);
  });
  it('encode.completed carries the plan, the output and what was measured', () => {
    const target = { videoCodec: 'hevc' as const, container: 'mkv' as const };
    const e = completedEvent(
      planned,
      { outputPath: '/o.mkv', target },
      'libx265',
      { elapsedMs: 5, fps: null },
      42,
      { pixFmt: 'yuv420p', pixFmtReason: 'why' },
    );
    assert.equal(e.type, 'encode.completed');
    assert.equal(e.data.outputSize, 42);
    assert.equal('fps' in e.data, false);
    assert.equal(e.data.pixFmtReason, 'why');
    assert.equal(e.data.policyVersion, planned.data.policyVersion);
    // The plan's duration goes on to the verifier (it probes the output sooner with it).
    const done = (durationSec: number | null) =>
      completedEvent(
        { ...planned, data: { ...planned.data, durationSec } },
        { outputPath: '/o.mkv', target },
        'libx265',
        { elapsedMs: 5, fps: null },
        42,
      ).data;
    assert.equal(done(30).durationSec, 30);
    assert.equal('durationSec' in done(null), false);
    assert.equal('durationSec' in done(0), false);
  });
  it('a progress message names the file, node and run, with the eta at this speed', () => {
    const p = { percent: 50, fps: 30, speed: 2, outTimeSec: 10, outBytes: 100 };
    const withDuration = { ...planned, data: { ...planned.data, durationSec: 30 } };
    const m = progressMessage(
      withDuration,
      { node: 'n', encoder: 'libx265', attempt: 2 },
      p,
      new Date(0),
    );
    assert.deepEqual(m, {
      fileId: 'f1',
      library,
      path,
      node: 'n',
      encoder: 'libx265',
      attempt: 2,
      percent: 50,
      fps: 30,
      speed: 2,
      etaSec: 10,
      outTimeSec: 10,
      outBytes: 100,
      time: '1970-01-01T00:00:00.000Z',
    });
  });
});

describe('planProfiles and planDevices', () => {
  const works = (encoder: keyof typeof ENCODE_PROFILES, ok = true): EncoderAvailability => ({
    encoder,
    codec: ENCODE_PROFILES[encoder].codec,
    backend: ENCODE_PROFILES[encoder].backend,
    compiled: true,
    works: ok,
    reason: ok ? 'trial encode succeeded' : 'trial encode failed',
  });
  it('takes a working GPU encoder per codec and falls back to the CPU with a reason', () => {
    const plan = planProfiles(
      [
        works('hevc_nvenc'),
        works('libx265'),
        works('h264_nvenc', false),
        works('libx264'),
        works('libsvtav1', false),
      ],
      null,
    );
    assert.equal(plan.profiles.get('hevc')?.encoder, 'hevc_nvenc');
    assert.equal(plan.profiles.get('h264')?.encoder, 'libx264');
    assert.equal(plan.fallbacks.length, 1);
    assert.match(plan.fallbacks[0]!, /^h264: /);
    assert.deepEqual(
      plan.unavailable.map((u) => u.codec),
      ['av1'],
    );
  });
  it('counts slots per device: defaults, per-kind settings, the one override, never 0', () => {
    const profiles = planProfiles([works('hevc_nvenc'), works('libx264')], null).profiles;
    const defaults = planDevices(profiles);
    assert.deepEqual(defaults.devices, ['nvenc', 'cpu']);
    assert.deepEqual(defaults.limits, { cpu: 1, nvenc: 3, qsv: 2, vaapi: 2 });
    assert.equal(pullSlotsFor(defaults), 4);
    const kind = planDevices(profiles, { deviceSlots: { nvenc: 2, cpu: 0 } });
    assert.deepEqual([kind.limits.nvenc, kind.limits.cpu], [2, 1]);
    const all = planDevices(profiles, { slots: 5, deviceSlots: { nvenc: 2 } });
    assert.deepEqual(all.limits, { cpu: 5, nvenc: 5, qsv: 5, vaapi: 5 });
    assert.equal(pullSlotsFor(planDevices(new Map())), 1);
  });
});
