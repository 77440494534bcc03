import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DeciderSpecification,
  sampleEvent,
  type EventEnvelope,
  type PauseReason,
} from '@conform/contracts';
import {
  chooseEncoder,
  decidePause,
  encoderOptionsFromEnv,
  evolvePause,
  initialPauseState,
  isPaused,
  observePause,
  pauseDecider,
  pauseReaction,
  pauseReasons,
  ProgressThrottle,
  quietWindowAt,
  sizeGuard,
  EncoderConfigError,
  type EncoderAvailability,
  type PauseObservation,
  type PauseSourceEvent,
} from '../src/index.js';

const quiet: PauseObservation = { inQuietWindow: null, disk: null };
const request = (action: 'pause' | 'resume', now = false): PauseSourceEvent =>
  ({
    ...sampleEvent('control.requested', 'control'),
    data: { action, path: null, now, requestedBy: 'cli@nas' },
  }) as PauseSourceEvent;
const recorded = (type: 'encoder.paused' | 'encoder.resumed', reason: PauseReason, node = 'n1') =>
  ({
    ...sampleEvent(type, 'control'),
    data: { ...sampleEvent(type).data, node, reason },
  }) as EventEnvelope<typeof type> as PauseSourceEvent;
const given = (...events: PauseSourceEvent[]) =>
  events.reduce(evolvePause, initialPauseState('n1'));

describe('pause decider', () => {
  describe('given nothing happened', () => {
    it('when all is well, then no events and not paused', () => {
      assert.deepEqual(decidePause(quiet, given()), []);
      assert.equal(isPaused(given()), false);
    });
    it('when free disk falls below the guard, then encoder.paused low-disk naming the numbers', () => {
      const [e] = decidePause(
        {
          inQuietWindow: null,
          disk: { path: '/lib', freeBytes: 1024 ** 3, minFreeBytes: 2 * 1024 ** 3 },
        },
        given(),
      );
      assert.equal(e?.type, 'encoder.paused');
      assert.equal(e?.data.reason, 'low-disk');
      assert.match(e?.data.detail ?? '', /1\.0 GiB free on \/lib, 2\.0 GiB needed/);
    });
    it('when inside a quiet window, then encoder.paused schedule', () => {
      const window = { from: '01:00', to: '07:00' };
      const events = decidePause({ inQuietWindow: { window }, disk: null }, given());
      assert.deepEqual(
        events.map((e) => [e.type, e.data.reason]),
        [['encoder.paused', 'schedule']],
      );
    });
  });

  describe('given an operator asked to pause --now', () => {
    it('then this node records a manual pause that cancels running encodes', () => {
      const [e] = decidePause(quiet, given(request('pause', true)));
      assert.deepEqual(e, {
        type: 'encoder.paused',
        data: { node: 'n1', reason: 'manual', detail: 'requested by cli@nas', cancelRunning: true },
      });
    });
    it('and the node recorded it, then nothing more, and the node is paused', () => {
      const state = given(request('pause', true), recorded('encoder.paused', 'manual'));
      assert.deepEqual(decidePause(quiet, state), []);
      assert.equal(isPaused(state), true);
    });
    it('and another node recorded it, then this node still records its own', () => {
      const state = given(request('pause'), recorded('encoder.paused', 'manual', 'n2'));
      assert.equal(decidePause(quiet, state).length, 1);
    });
    it('and then resume, then encoder.resumed manual', () => {
      const state = given(
        request('pause'),
        recorded('encoder.paused', 'manual'),
        request('resume'),
      );
      assert.deepEqual(
        decidePause(quiet, state).map((e) => e.type),
        ['encoder.resumed'],
      );
    });
  });

  describe('given a low-disk pause was recorded', () => {
    it('when space is back, then encoder.resumed low-disk; a manual pause still holds apart', () => {
      const state = given(
        recorded('encoder.paused', 'low-disk'),
        request('pause'),
        recorded('encoder.paused', 'manual'),
      );
      const events = decidePause(
        { inQuietWindow: null, disk: { path: '/lib', freeBytes: 10, minFreeBytes: 5 } },
        state,
      );
      assert.deepEqual(
        events.map((e) => [e.type, e.data.reason]),
        [['encoder.resumed', 'low-disk']],
      );
    });
  });

  describe('given notify reported playback', () => {
    const playback = (type: 'playback.started' | 'playback.ended') =>
      sampleEvent(type, 'control') as PauseSourceEvent;
    it("when it started, then encoder.paused playback with notify's detail", () => {
      const events = decidePause(quiet, given(playback('playback.started')));
      assert.deepEqual(
        events.map((e) => [e.type, e.data.reason, e.data.detail]),
        [['encoder.paused', 'playback', sampleEvent('playback.started').data.detail]],
      );
    });
    it('when it ended after the grace period, then encoder.resumed playback', () => {
      const state = given(
        playback('playback.started'),
        recorded('encoder.paused', 'playback'),
        playback('playback.ended'),
      );
      assert.equal(isPaused(state), true);
      const events = decidePause(quiet, state);
      assert.deepEqual(
        events.map((e) => [e.type, e.data.reason]),
        [['encoder.resumed', 'playback']],
      );
    });
  });
});

describe('pause decider (given/when/then)', () => {
  const spec = DeciderSpecification(pauseDecider('n1'));
  const lowDisk = {
    inQuietWindow: null,
    disk: { path: '/lib', freeBytes: 1, minFreeBytes: 2 },
  };
  it('given nothing, when all is well, then nothing happens', () =>
    spec().when(quiet).thenNothingHappened());
  it('given a pause --now request, then a manual pause that cancels running encodes', () =>
    spec(request('pause', true))
      .when(quiet)
      .then([
        {
          type: 'encoder.paused',
          data: {
            node: 'n1',
            reason: 'manual',
            detail: 'requested by cli@nas',
            cancelRunning: true,
          },
        },
      ]));
  it("given this node's own decision folded back, then nothing more is decided", () =>
    spec(request('pause'), ...pauseDecider('n1').decide(quiet, given(request('pause'))))
      .when(quiet)
      .thenNothingHappened());
  it('given a low-disk pause recorded, when space is back, then low-disk resumes', () =>
    spec(recorded('encoder.paused', 'low-disk'))
      .when({ inQuietWindow: null, disk: { path: '/lib', freeBytes: 3, minFreeBytes: 2 } })
      .then((events, state) => {
        assert.deepEqual(pauseReasons(state), ['low-disk']);
        assert.deepEqual(
          events.map((e) => [e.type, (e.data as { reason: string }).reason]),
          [['encoder.resumed', 'low-disk']],
        );
      }));
  it('given nothing, when free space is short, then low-disk pauses', () =>
    spec()
      .when(lowDisk)
      .then((events) =>
        assert.deepEqual(
          events.map((e) => (e.data as { reason: string }).reason),
          ['low-disk'],
        ),
      ));
});

describe('observePause', () => {
  const noon = new Date(2026, 0, 1, 12, 30);
  it('names the quiet window the clock is in', () => {
    const obs = observePause(noon, [{ from: '12:00', to: '13:00' }], [], 0, []);
    assert.deepEqual(obs.inQuietWindow, { window: { from: '12:00', to: '13:00' } });
  });
  it('lets the filesystem furthest below its need speak, counting waiting encodes', () => {
    const obs = observePause(
      noon,
      [],
      [
        { path: '/a', freeBytes: 100 },
        { path: '/b', freeBytes: 500 },
        { path: '/gone', freeBytes: null },
      ],
      10,
      [{ path: '/b', bytes: 1_000 }],
    );
    assert.deepEqual(obs, {
      inQuietWindow: null,
      disk: { path: '/b', freeBytes: 500, minFreeBytes: 1_000 },
    });
  });
  it('observes no disk when none could be read', () => {
    assert.equal(observePause(noon, [], [{ path: '/x', freeBytes: null }], 0, []).disk, null);
  });
});

describe('pauseReaction', () => {
  const paused = given(recorded('encoder.paused', 'manual'));
  it("cancels running encodes on this node's live pause --now only", () => {
    const now = {
      ...recorded('encoder.paused', 'manual'),
      data: { ...recorded('encoder.paused', 'manual').data, cancelRunning: true },
    } as PauseSourceEvent;
    assert.equal(pauseReaction(given(), paused, now, true).cancelRunning, true);
    assert.equal(pauseReaction(given(), paused, now, false).cancelRunning, false);
  });
  it('wakes waiting pulls when the node resumes, and tells the heartbeat', () => {
    const resumed = recorded('encoder.resumed', 'manual');
    const r = pauseReaction(paused, given(), resumed, true);
    assert.equal(r.wake, true);
    assert.equal(r.changed, true);
    assert.equal(r.check, false);
  });
  it("checks again on a live operator request, not on another node's decision", () => {
    assert.equal(pauseReaction(given(), given(), request('pause'), true).check, true);
    const other = recorded('encoder.paused', 'manual', 'n2');
    const r = pauseReaction(given(), given(), other, true);
    assert.deepEqual(r, { check: false, cancelRunning: false, wake: false, changed: false });
  });
});

describe('quietWindowAt', () => {
  it('handles windows within a day and across midnight', () => {
    const windows = [
      { from: '23:00', to: '02:00' },
      { from: '12:00', to: '13:00' },
    ];
    assert.equal(quietWindowAt(windows, 23 * 60 + 30)?.from, '23:00');
    assert.equal(quietWindowAt(windows, 60)?.from, '23:00');
    assert.equal(quietWindowAt(windows, 12 * 60)?.from, '12:00');
    assert.equal(quietWindowAt(windows, 13 * 60), null);
  });
});

describe('progress throttle and size guard', () => {
  it('lets one update a second through, and always the last', () => {
    const th = new ProgressThrottle(1_000);
    assert.deepEqual(
      [0, 300, 999, 1_000, 1_500, 1_600].map((t) => th.admit(t, 50)),
      [true, false, false, true, false, false],
    );
    assert.equal(th.admit(1_700, 100), true);
  });
  const p = (percent: number | null, outBytes: number | null) => ({
    percent,
    fps: 30,
    speed: 1,
    outTimeSec: 1,
    outBytes,
  });
  it('does not judge before 10 % or without numbers', () => {
    assert.deepEqual(sizeGuard(p(5, 900), 100), { stop: false });
    assert.deepEqual(sizeGuard(p(null, 900), 100), { stop: false });
    assert.deepEqual(sizeGuard(p(50, 900), null), { stop: false });
  });
  it('stops when the projection passes the limit, and says by how much', () => {
    const v = sizeGuard(p(25, 300), 1_000);
    assert.equal(v.stop, true);
    assert.equal(v.stop && v.projectedBytes, 1_200);
    assert.deepEqual(sizeGuard(p(25, 250), 1_000), { stop: false });
  });
});

describe('chooseEncoder', () => {
  const a = (
    encoder: EncoderAvailability['encoder'],
    backend: EncoderAvailability['backend'],
    codec: EncoderAvailability['codec'],
    works: boolean,
    compiled = true,
  ): EncoderAvailability => ({
    encoder,
    backend,
    codec,
    works,
    compiled,
    reason: works
      ? 'trial encode succeeded'
      : compiled
        ? 'trial encode failed: no device'
        : 'not in this ffmpeg build',
  });
  it('prefers a working GPU encoder', () => {
    const c = chooseEncoder('hevc', [
      a('hevc_nvenc', 'nvenc', 'hevc', true),
      a('libx265', 'cpu', 'hevc', true),
    ]);
    assert.equal(c.profile.encoder, 'hevc_nvenc');
    assert.equal(c.cpuFallback, false);
  });
  it('falls back to the CPU and says why', () => {
    const c = chooseEncoder('hevc', [
      a('hevc_nvenc', 'nvenc', 'hevc', false),
      a('libx265', 'cpu', 'hevc', true),
    ]);
    assert.equal(c.profile.encoder, 'libx265');
    assert.equal(c.cpuFallback, true);
    assert.match(c.reason, /hevc_nvenc: trial encode failed: no device/);
  });
  it('never offers av1_nvenc when ffmpeg lacks it', () => {
    const c = chooseEncoder('av1', [
      a('av1_nvenc', 'nvenc', 'av1', false, false),
      a('libsvtav1', 'cpu', 'av1', true),
    ]);
    assert.equal(c.profile.encoder, 'libsvtav1');
  });
});

describe('encoderOptionsFromEnv', () => {
  it('reads tuning and quiet windows', () => {
    assert.deepEqual(
      encoderOptionsFromEnv({
        CONFORM_ENCODER_ACK_WAIT_MS: '5000',
        CONFORM_QUIET_WINDOWS: '18:00-23:00',
        CONFORM_NODE: 'gpu1',
      }),
      { ackWaitMs: 5000, node: 'gpu1', quietWindows: [{ from: '18:00', to: '23:00' }] },
    );
  });
  it('names the variable and the expected value when it is wrong', () => {
    assert.throws(
      () => encoderOptionsFromEnv({ CONFORM_QUIET_WINDOWS: '25:00-01:00' }),
      (err: unknown) =>
        err instanceof EncoderConfigError &&
        /CONFORM_QUIET_WINDOWS must be comma-separated HH:MM-HH:MM windows, got "25:00-01:00"/.test(
          err.message,
        ),
    );
  });
});
