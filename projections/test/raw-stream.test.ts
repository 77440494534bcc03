// The bulk reader (raw-stream.ts) against a real nats-server: every message in order with its
// own sequence, subject and bytes, ranges, no consumer left behind, and a
// consumer that vanishes midway failing the read instead of hanging or ending it early.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sampleEvent } from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  EventPublisher,
  provisionEventLog,
  startTestBus,
  type TestBus,
} from '@conform/bus';
import { readAckSubject, streamRawEventLog } from '../src/raw-stream.js';
import { readEventLog } from '../src/stream.js';

let t: TestBus;
before(async () => {
  t = await startTestBus('raw-stream-test');
  await provisionEventLog(t.bus.jsm);
  const publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
  // More than two pulls' worth, so the reader has to ask again.
  for (let i = 0; i < 12_500; i += 500) {
    const events = Array.from({ length: 500 }, (_, j) =>
      sampleEvent('file.discovered', `raw${i + j}`),
    );
    await Promise.all(events.map((e) => publisher.publish(e)));
  }
});
after(async () => {
  await t.cleanup();
});

const consumerNames = async () =>
  new Set((await t.bus.jsm.consumers.list(EVENT_LOG_STREAM).next()).map((c) => c.name));
// The consumers now there, less those there before: what a read left behind (the ordered
// consumer of readEventLog goes away on its own time).
const leftSince = async (before: Set<string>) =>
  [...(await consumerNames())].filter((name) => !before.has(name));

describe('streamRawEventLog', () => {
  it('hands over every stored message with the sequence, subject and bytes the log holds', async () => {
    const expected: { sequence: number; subject: string; text: string }[] = [];
    await readEventLog(t.bus, (batch) => {
      for (const m of batch) {
        expected.push({ sequence: m.sequence, subject: m.subject, text: JSON.stringify(m.event) });
      }
    });
    const before = await consumerNames();
    const got: typeof expected = [];
    const last = await streamRawEventLog(t.bus, (sequence, subject, data) => {
      got.push({
        sequence,
        subject,
        text: JSON.stringify(JSON.parse(Buffer.from(data).toString())),
      });
    });
    assert.equal(got.length, 12_500);
    assert.deepEqual(got, expected);
    assert.equal(last, 12_500);
    assert.deepEqual(await leftSince(before), []);
  });

  it('reads only the range asked for', async () => {
    const before = await consumerNames();
    const seen: number[] = [];
    const last = await streamRawEventLog(t.bus, (sequence) => seen.push(sequence), {
      fromSequence: 6_999,
      toSequence: 7_002,
    });
    assert.deepEqual(seen, [6_999, 7_000, 7_001, 7_002]);
    assert.equal(last, 7_002);
    assert.deepEqual(await leftSince(before), []);
  });

  it('fails when its consumer is deleted midway, instead of ending early or hanging', async () => {
    const before = await consumerNames();
    let deleting: Promise<unknown> | null = null;
    let seen = 0;
    await assert.rejects(
      streamRawEventLog(
        t.bus,
        () => {
          seen++;
          deleting ??= t.bus.jsm.consumers
            .list(EVENT_LOG_STREAM)
            .next()
            .then((list) =>
              Promise.all(
                list
                  .filter((c) => !before.has(c.name))
                  .map((c) => t.bus.jsm.consumers.delete(EVENT_LOG_STREAM, c.name)),
              ),
            );
        },
        // One message per pull: the deletion lands long before 12,500 round trips are over.
        { stallMs: 2_000, pullBatch: 1 },
      ),
      /status 409|no message of the event log/,
    );
    await deleting;
    assert.ok(seen < 12_500, `read ${seen} messages of a consumer deleted after the first`);
    assert.deepEqual(await leftSince(before), []);
  });

  it('reads the stream sequence off both forms of reply subject, and nothing else', () => {
    assert.deepEqual(readAckSubject('$JS.ACK.events.c1.1.42.7.1700000000000000000.3'), {
      sequence: 42,
      delivered: 7,
      pending: 3,
    });
    assert.deepEqual(
      readAckSubject('$JS.ACK.hub.ACCHASH.events.c1.1.42.7.1700000000000000000.3.tok'),
      { sequence: 42, delivered: 7, pending: 3 },
    );
    assert.equal(readAckSubject(undefined), null);
    assert.equal(readAckSubject('_INBOX.abc'), null);
    assert.equal(readAckSubject('$JS.ACK.events.c1.1.x.7.1.3'), null);
    assert.equal(readAckSubject('$JS.ACK.events.c1.1..7.1.3'), null);
    assert.equal(readAckSubject('$JS.ACK.events.c1.1.42.7.1'), null);
    assert.equal(readAckSubject('$JS.ACK.events.c1.1.42.7.1.-3'), null);
    assert.equal(readAckSubject('$JS.ACK.events.c1.1.42.7.1.99999999999999999999'), null);
    assert.deepEqual(readAckSubject('$JS.ACK.a.b.c.d.1.42.7.1.3.tok.more'), {
      sequence: 42,
      delivered: 7,
      pending: 3,
    });
  });
});
