import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { sampleData, sampleEvent, type EventEnvelope } from '@conform/contracts';
import {
  EventPublisher,
  lastEventOf,
  provisionEventLog,
  startTestBus,
  type TestBus,
} from '@conform/bus';
import { conformBin } from './run-conform.js';

const run = promisify(execFile);

/** `conform retry` against a real nats-server holding the file's history. */
describe('conform retry of kept and damaged files', () => {
  let t: TestBus;
  const retry = async (...args: string[]) =>
    run(process.execPath, [conformBin, 'retry', ...args, '--nats', t.server.url]).then(
      (r) => ({ code: 0, ...r }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );

  before(async () => {
    t = await startTestBus('cli-retry');
    await provisionEventLog(t.bus.jsm);
    const publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
    const planned = sampleEvent('file.planned', 'kept1') as EventEnvelope<'file.planned'>;
    await publisher.publish({ ...planned, data: { ...planned.data, path: '/media/kept.mkv' } });
    await publisher.publish(sampleEvent('file.kept', 'kept1'));
    await publisher.publish({
      ...planned,
      id: 'damaged-plan',
      fileId: 'bad1',
      data: {
        ...sampleData['file.planned'],
        path: '/media/bad.mkv',
        decision: 'damaged',
        target: null,
        health: { mode: 'quick', checked: '0-30 s', errors: ['corrupt'], errorCount: 1 },
      },
    });
  });
  after(() => t.cleanup());

  it('refuses a kept file with why and what re-plans it; --force retries it', async () => {
    const refused = await retry('/media/kept.mkv');
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /\/media\/kept\.mkv was kept: .*a retry under the same policy keeps it again.*--force/,
    );
    assert.equal(await lastEventOf(t.bus, 'control.requested', 'kept1'), null);
    const forced = await retry('/media/kept.mkv', '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /retry requested for \/media\/kept\.mkv/);
    const request = await lastEventOf(t.bus, 'control.requested', 'kept1');
    assert.equal(request?.event.data.action, 'retry');
  });

  it('refuses a damaged file, forced or not', async () => {
    for (const flags of [[], ['--force']]) {
      const refused = await retry('/media/bad.mkv', ...flags);
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        /\/media\/bad\.mkv is damaged \(quick health check of 0-30 s: 1 decode error\(s\), first: corrupt\)/,
      );
    }
    assert.equal(await lastEventOf(t.bus, 'control.requested', 'bad1'), null);
  });
});
