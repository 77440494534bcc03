import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sampleEvent } from '@conform/contracts';
import {
  EventPublisher,
  eventually,
  provisionEventLog,
  silentLogger,
  startTestBus,
  type TestBus,
} from '@conform/bus';
import { startLiveFeed, type LiveFeed, type LiveMessage } from '../src/live.js';

let t: TestBus;
let publisher: EventPublisher;
let feed: LiveFeed;

before(async () => {
  t = await startTestBus('status-live-feed');
  await provisionEventLog(t.bus.jsm);
  publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
  feed = startLiveFeed(t.bus.nc, silentLogger());
});
after(async () => {
  feed.close();
  await t.cleanup();
});

describe('live feed', () => {
  it('with no client listening, still forgets a file’s progress at its next event, and only its own', async () => {
    assert.equal(feed.followingEvents, false, 'nothing to follow the events for yet');
    t.bus.nc.publish('conform.progress.feedA', JSON.stringify({ percent: 10 }));
    t.bus.nc.publish('conform.progress.feedB', JSON.stringify({ percent: 20 }));
    await eventually(() => feed.progress('feedA') && feed.progress('feedB'));
    await publisher.publish(sampleEvent('encode.started', 'feedA'));
    await publisher.publish(sampleEvent('file.discovered', 'feedC'));
    await publisher.publish(sampleEvent('encode.failed', 'feedB'));
    await eventually(() => feed.progress('feedB') === null);
    // encode.started keeps the progress; another file's event does not touch it.
    assert.equal(feed.progress('feedA')?.percent, 10);
    assert.equal(feed.followingEvents, true);
    await publisher.publish(sampleEvent('encode.failed', 'feedA'));
    await eventually(() => feed.progress('feedA') === null);
    assert.equal(feed.followingEvents, false, 'no progress held and no client: unsubscribed');
  });

  it('sends every event to a client once one listens', async () => {
    const got: LiveMessage[] = [];
    const unsubscribe = feed.subscribe((m) => got.push(m));
    assert.equal(feed.followingEvents, true);
    await publisher.publish(sampleEvent('file.discovered', 'feedD'));
    await eventually(() => got.some((m) => m.kind === 'event' && m.fileId === 'feedD'));
    const event = got.find((m) => m.kind === 'event' && m.fileId === 'feedD');
    assert.equal(event?.kind === 'event' && event.type, 'file.discovered');
    unsubscribe();
    assert.equal(feed.followingEvents, false);
  });
});
