import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleEvent, type EventEnvelope, type EventType } from '@conform/contracts';
import {
  decidePlayback,
  evolvePlayback,
  fill,
  formatBytes,
  INITIAL_PLAYBACK,
  mapPath,
  observePlayback,
  planNotification,
  planRefresh,
  planRescan,
  renderMessage,
  summarize,
  summaryDay,
  type NotifySourceEvent,
  type PlaybackObservation,
} from '../src/index.js';

function event<T extends EventType>(type: T, data: Partial<EventEnvelope<T>['data']>) {
  const e = sampleEvent(type);
  return { ...e, data: { ...e.data, ...data } } as EventEnvelope<T> as NotifySourceEvent;
}

const swap = event('file.replaced', {
  library: '/media/movies',
  path: '/media/movies/Film (2020)/Film.avi',
  newPath: '/media/movies/Film (2020)/Film.mkv',
  bytesSaved: 3 * 1024 ** 3,
});
const inPlace = event('file.replaced', {
  path: '/media/movies/Film.mkv',
  newPath: '/media/movies/Film.mkv',
});

describe('planning refreshes and rescans', () => {
  it('a swap that changed the name deletes the old path and creates the new one', () => {
    assert.deepEqual(planRefresh(swap), {
      action: 'refresh',
      changes: [
        { path: '/media/movies/Film (2020)/Film.avi', type: 'Deleted' },
        { path: '/media/movies/Film (2020)/Film.mkv', type: 'Created' },
      ],
    });
  });
  it('an in-place swap is one modification', () => {
    assert.deepEqual(planRefresh(inPlace), {
      action: 'refresh',
      changes: [{ path: '/media/movies/Film.mkv', type: 'Modified' }],
    });
  });
  it('a restore puts the original back: the replacement is deleted, the original created', () => {
    const restored = event('file.restored', {
      path: '/m/Film.avi',
      replacedPath: '/m/Film.mkv',
    });
    assert.deepEqual(planRefresh(restored), {
      action: 'refresh',
      changes: [
        { path: '/m/Film.mkv', type: 'Deleted' },
        { path: '/m/Film.avi', type: 'Created' },
      ],
    });
    assert.deepEqual(planRescan(restored), {
      action: 'rescan',
      path: '/m/Film.avi',
      why: 'extension changed from .mkv to .avi',
    });
  });
  it('*arr apps rescan only after an extension change; failures refresh nothing', () => {
    assert.deepEqual(planRescan(swap), {
      action: 'rescan',
      path: '/media/movies/Film (2020)/Film.mkv',
      why: 'extension changed from .avi to .mkv',
    });
    assert.equal(planRescan(inPlace), null);
    assert.equal(planRefresh(event('encode.failed', {})), null);
  });
});

describe('planning notifications', () => {
  const opts = { isNotificationConsumer: (d: string) => d.startsWith('notify-hook-') };
  it('follows the per-event filter', () => {
    assert.equal(planNotification(swap, ['failed'], opts), null);
    const planned = planNotification(swap, ['replaced'], { ...opts, planReasons: ['h264'] });
    assert.equal(planned?.action, 'notification');
    assert.deepEqual(planned?.action === 'notification' && planned.facts.reasons, ['h264']);
    const failed = planNotification(event('verify.failed', {}), ['failed'], opts);
    assert.equal(failed?.action === 'notification' && failed.event, 'failed');
  });
  it('does not notify dead letters of notification consumers (no loops between channels)', () => {
    const dl = (consumer: string) => event('message.deadlettered', { consumer });
    assert.equal(planNotification(dl('notify-hook-file-replaced'), ['deadlettered'], opts), null);
    const other = planNotification(dl('encoder-file-planned'), ['deadlettered'], opts);
    assert.deepEqual(other?.action === 'notification' && other.facts.reasons, [
      'encoder-file-planned: exhausted deliveries',
    ]);
  });
});

describe('path mapping', () => {
  const map = [
    { from: '/media', to: '/data' },
    { from: '/media/tv', to: '/tv' },
  ];
  it('the longest matching prefix wins, on a folder boundary', () => {
    assert.equal(mapPath('/media/tv/Show/ep.mkv', map), '/tv/Show/ep.mkv');
    assert.equal(mapPath('/media/movies/Film.mkv', map), '/data/movies/Film.mkv');
    assert.equal(mapPath('/mediaextra/Film.mkv', map), '/mediaextra/Film.mkv');
    assert.equal(mapPath('/other/Film.mkv', []), '/other/Film.mkv');
  });
});

describe('messages', () => {
  it('templates fill the known fields and leave unknown ones visible', () => {
    assert.equal(fill('{{file}} {{nope}}', { file: 'a.mkv' }), 'a.mkv {{nope}}');
    const planned = planNotification(swap, ['replaced'], {
      planReasons: ['video is h264'],
      isNotificationConsumer: () => false,
    });
    assert.ok(planned?.action === 'notification');
    const m = renderMessage('replaced', planned.facts, {
      replaced: { title: 'Saved {{saved}} on {{file}}' },
    });
    assert.equal(m.title, 'Saved 3.0 GiB on Film.mkv');
    assert.match(m.body, /Film \(2020\)\/Film\.mkv: 3\.0 GiB saved\. video is h264/);
    assert.equal(m.type, 'success');
    assert.equal(formatBytes(-2048), '-2.0 KiB');
  });
  it('the daily summary counts the day', () => {
    const s = summarize('2026-01-01', [
      swap as EventEnvelope,
      event('file.replaced', { bytesSaved: 100 }) as EventEnvelope,
      event('encode.failed', {}) as EventEnvelope,
      event('message.deadlettered', {}) as EventEnvelope,
      sampleEvent('file.planned'),
    ]);
    assert.deepEqual(s, {
      day: '2026-01-01',
      replaced: 2,
      bytesSaved: 3 * 1024 ** 3 + 100,
      failed: 1,
      deadLettered: 1,
    });
    assert.equal(summaryDay(new Date(2026, 0, 2, 7, 59), '08:00'), null);
    assert.equal(summaryDay(new Date(2026, 0, 2, 8, 0), '08:00'), '2026-01-02');
  });
});

describe('playback decider', () => {
  const obs = (now: number, jf: number | null, plex: number | null = 0): PlaybackObservation => ({
    now,
    servers: [
      { name: 'jf', kind: 'jellyfin', sessions: jf },
      { name: 'plex', kind: 'plex', sessions: plex },
    ],
  });
  const step = (state: typeof INITIAL_PLAYBACK, o: PlaybackObservation) => {
    const s = observePlayback(state, o);
    return { state: s, events: decidePlayback(o, s, 5) };
  };
  it('starts at the first session and ends only after the grace period', () => {
    const first = step(INITIAL_PLAYBACK, obs(0, 2));
    assert.deepEqual(
      first.events.map((e) => [e.type, e.data.detail]),
      [['playback.started', '2 playback sessions on jf']],
    );
    const recorded = evolvePlayback(first.state, {
      ...sampleEvent('playback.started', 'control'),
      id: 'p1',
    });
    assert.deepEqual(step(recorded, obs(60_000, 1)).events, []);
    const idle = step(step(recorded, obs(60_000, 1)).state, obs(4 * 60_000, 0));
    assert.deepEqual(idle.events, [], 'inside the grace period');
    const ended = step(idle.state, obs(6 * 60_000 + 1, 0));
    assert.deepEqual(
      ended.events.map((e) => e.type),
      ['playback.ended'],
    );
  });
  it('a server that does not answer counts as idle, and a restart while paused waits out the grace', () => {
    const paused = { active: true, lastId: 'p1', lastSeenAt: null };
    const first = step(paused, obs(1_000, null, null));
    assert.deepEqual(first.events, []);
    assert.deepEqual(
      step(first.state, obs(1_000 + 5 * 60_000, null, 0)).events.map((e) => e.type),
      ['playback.ended'],
    );
  });
});
