import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  EventPublisher,
  eventually,
  silentLogger,
  startTestBus,
  type RunningService,
  type TestBus,
} from '@conform/bus';
import { CONTROL_FILE_ID, subjectFilterForFile, type EventEnvelope } from '@conform/contracts';
import { detectEncodersOnce, startEncoder } from '@conform/encoder';
import { eventsOn, startNotify } from '../src/index.js';
import { contextOf, integrations } from './bus-helpers.js';
import { fakeMediaBrowser, fakePlex, type FakeServer } from './fakes.js';

const GRACE_MINUTES = 0.02; // 1.2 s

describe('pause while streaming: notify polls the sessions, encoders pause with reason playback', () => {
  let t: TestBus;
  let notify: RunningService;
  let encoder: RunningService;
  let jf: FakeServer, plex: FakeServer;
  let jfSessions: unknown[] = [];
  let plexPlaying = 0;

  before(async () => {
    t = await startTestBus('notify-playback-test');
    jf = await fakeMediaBrowser('jellyfin', 'k', () => jfSessions);
    plex = await fakePlex('tok', [], () => plexPlaying);
    encoder = await startEncoder(
      contextOf(t, new EventPublisher(t.bus.js, { producer: 'encoder@test' }), silentLogger()),
      {
        node: 'enc-1',
        availability: await detectEncodersOnce(),
        checkIntervalMs: 200,
        minFreeBytes: 0,
      },
    );
    notify = await startNotify(
      contextOf(t, new EventPublisher(t.bus.js, { producer: 'notify@test' }), silentLogger()),
      {
        env: { K: 'k', T: 'tok' },
        integrations: integrations({
          mediaServers: [
            { name: 'jf', kind: 'jellyfin', url: jf.url, apiKeyEnv: 'K', pathMap: [] },
            { name: 'plex', kind: 'plex', url: plex.url, apiKeyEnv: 'T', pathMap: [] },
          ],
          pauseWhilePlaying: { servers: ['jf', 'plex'], graceMinutes: GRACE_MINUTES, pollMs: 100 },
        }),
      },
    );
  });
  after(async () => {
    await notify?.stop();
    await encoder?.stop();
    await jf?.close();
    await plex?.close();
    await t?.cleanup();
  });

  const control = async () => eventsOn(t.bus, subjectFilterForFile(CONTROL_FILE_ID));
  const find = async <T extends EventEnvelope['type']>(
    type: T,
    match: (e: EventEnvelope<T>) => boolean = () => true,
  ): Promise<EventEnvelope<T> | undefined> =>
    ((await control()).filter((e) => e.type === type) as EventEnvelope<T>[]).find(match);

  it('pauses when someone watches, resumes after the grace period once nobody does', async () => {
    jfSessions = [{ Id: 's1', NowPlayingItem: { Name: 'Film' } }, { Id: 's2' }];
    plexPlaying = 1;
    const started = await eventually(() => find('playback.started'), { what: 'playback.started' });
    assert.equal(started.data.sessions, 2);
    assert.deepEqual(started.data.servers, [
      { name: 'jf', kind: 'jellyfin', sessions: 1 },
      { name: 'plex', kind: 'plex', sessions: 1 },
    ]);
    const paused = await eventually(
      () => find('encoder.paused', (e) => e.data.node === 'enc-1' && e.data.reason === 'playback'),
      { what: 'encoder.paused {reason: playback}' },
    );
    assert.equal(paused.data.detail, '2 playback sessions on jf, plex');

    jfSessions = [];
    plexPlaying = 0;
    const stoppedAt = Date.now();
    const ended = await eventually(() => find('playback.ended'), {
      what: 'playback.ended',
      timeoutMs: 20_000,
    });
    assert.ok(
      Date.parse(ended.time) - stoppedAt >= GRACE_MINUTES * 60_000 - 150,
      'waited out the grace period',
    );
    const resumed = await eventually(
      () => find('encoder.resumed', (e) => e.data.node === 'enc-1' && e.data.reason === 'playback'),
      { what: 'encoder.resumed {reason: playback}' },
    );
    assert.equal(resumed.data.detail, `no playback for ${GRACE_MINUTES} min`);
    assert.ok(jf.received('GET', '/Sessions').length > 2, 'Jellyfin was polled');
    assert.ok(plex.received('GET', '/status/sessions').length > 2, 'Plex was polled');
  });
});
