import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleData, wrap, type DomainEvent, type EventEnvelope } from '@conform/contracts';
import { fileDetailOf, pauseViewOf } from '../src/index.js';

let n = 0;
function at(event: DomainEvent, fileId = 'f1'): EventEnvelope {
  n++;
  return wrap(event, {
    fileId,
    producer: 'test@host',
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
    discriminator: String(n),
  });
}

describe('file detail from a file’s history', () => {
  const probedAfter = {
    ...sampleData['file.probed'],
    source: { size: 400_000, mtimeMs: 2 },
    media: {
      ...sampleData['file.probed'].media,
      video: { ...sampleData['file.probed'].media.video!, codec: 'hevc' },
    },
  };
  const lifecycle = [
    at({ type: 'file.discovered', data: sampleData['file.discovered'] }),
    at({ type: 'file.probed', data: sampleData['file.probed'] }),
    at({ type: 'file.planned', data: sampleData['file.planned'] }),
    at({ type: 'encode.started', data: sampleData['encode.started'] }),
    at({ type: 'encode.completed', data: { ...sampleData['encode.completed'], fps: 48 } }),
    at({ type: 'verify.passed', data: sampleData['verify.passed'] }),
    at({ type: 'file.replaced', data: sampleData['file.replaced'] }),
    at({ type: 'file.changed', data: sampleData['file.changed'] }),
    at({ type: 'file.probed', data: probedAfter }),
    at({
      type: 'file.planned',
      data: { ...sampleData['file.planned'], decision: 'compliant', reasons: ['is hevc'] },
    }),
  ];

  it('keeps the source as before and the replacement as after, with the latest plan', () => {
    const d = fileDetailOf(lifecycle);
    assert.equal(d.before?.media.video?.codec, 'h264');
    assert.equal(d.before?.sizeBytes, 1_000_000);
    assert.equal(d.after?.media?.video?.codec, 'hevc');
    assert.equal(d.after?.sizeBytes, 400_000);
    assert.equal(d.after?.bytesSaved, 600_000);
    assert.equal(d.after?.fps, 48);
    assert.equal(d.after?.archivePath, sampleData['file.replaced'].archivePath);
    assert.deepEqual(d.plan?.reasons, ['is hevc']);
    assert.deepEqual(d.encodePlan?.reasons, sampleData['file.planned'].reasons);
    assert.equal(d.restorable, true);
    assert.equal(d.plan?.policyVersion, 'p1234');
    assert.deepEqual(d.verification?.checks, sampleData['verify.passed'].checks);
    assert.equal(d.verification?.passed, true);
  });

  it('forgets the replacement after a restore', () => {
    const d = fileDetailOf([
      ...lifecycle,
      at({ type: 'file.restored', data: sampleData['file.restored'] }),
    ]);
    assert.equal(d.after, null);
    assert.equal(d.restorable, false);
  });

  it('shows a failed verification with each check', () => {
    const d = fileDetailOf([
      at({ type: 'file.probed', data: sampleData['file.probed'] }),
      at({ type: 'verify.failed', data: sampleData['verify.failed'] }),
    ]);
    assert.equal(d.verification?.passed, false);
    assert.deepEqual(d.verification?.checks[0], {
      name: 'audio-streams',
      passed: false,
      measured: 0,
      limit: 1,
    });
    assert.equal(d.after, null);
    assert.equal(d.before?.sizeBytes, 1_000_000);
  });
});

describe('pause view from the control subject', () => {
  const paused = (node: string, reason: 'manual' | 'low-disk', detail: string): DomainEvent => ({
    type: 'encoder.paused',
    data: { node, reason, detail, cancelRunning: false },
  });
  it('holds each node’s reasons until each is resumed, and names the last request', () => {
    const events = [
      at({ type: 'control.requested', data: sampleData['control.requested'] }, 'control'),
      at(paused('encoder@a', 'manual', 'requested by cli@nas'), 'control'),
      at(paused('encoder@b', 'manual', 'requested by cli@nas'), 'control'),
      at(paused('encoder@a', 'low-disk', '1 GB free of 2 GB'), 'control'),
      at(
        { type: 'encoder.resumed', data: { node: 'encoder@b', reason: 'manual', detail: 'x' } },
        'control',
      ),
    ];
    const view = pauseViewOf(events);
    assert.equal(view.paused, true);
    assert.deepEqual(
      view.nodes.map((x) => [x.node, x.reasons.map((r) => r.reason)]),
      [['encoder@a', ['manual', 'low-disk']]],
    );
    assert.equal(view.lastRequest?.action, 'pause');
    assert.equal(view.lastRequest?.by, 'cli@localhost');
    const resumed = pauseViewOf([
      ...events,
      ...(['manual', 'low-disk'] as const).map((reason) =>
        at({ type: 'encoder.resumed', data: { node: 'encoder@a', reason, detail: '' } }, 'control'),
      ),
    ]);
    assert.equal(resumed.paused, false);
    assert.deepEqual(resumed.nodes, []);
  });
});
