import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileIdFor, subjectFor, type EventEnvelope } from '@conform/contracts';
import {
  EventPublisher,
  eventually,
  silentLogger,
  startTestBus,
  type RunningService,
  type TestBus,
} from '@conform/bus';
import { generateClip } from '@conform/media';
import { DEFAULT_POLICY, holdOf, startPlanner } from '../src/index.js';

const HOLD_MINUTES = 0.1; // 6 s

let t: TestBus;
let planner: RunningService;
let library: string;

before(async () => {
  t = await startTestBus('planner-hold-test');
  library = await mkdtemp(join(tmpdir(), 'conform-planner-hold-'));
  const publisher = new EventPublisher(t.bus.js, { producer: 'planner@test' });
  planner = await startPlanner(
    { bus: t.bus, publisher, log: silentLogger(), eventLog: { maxBytes: 64 * 1024 * 1024 } },
    { policy: { ...DEFAULT_POLICY, holdNewFilesMinutes: HOLD_MINUTES } },
  );
});
after(async () => {
  await planner.stop();
  await t.cleanup();
  await rm(library, { recursive: true, force: true });
});

async function plans(fileId: string): Promise<EventEnvelope<'file.planned'>[]> {
  const consumer = await t.bus.js.consumers.get('CONFORM_EVENTS', {
    filter_subjects: subjectFor('file.planned', fileId),
  });
  const out: EventEnvelope<'file.planned'>[] = [];
  const batch = await consumer.fetch({ max_messages: 100, expires: 1_000 });
  for await (const m of batch) {
    out.push(m.json<EventEnvelope<'file.planned'>>());
    if (m.info.pending === 0) break;
  }
  await consumer.delete().catch(() => undefined);
  return out;
}

describe('holdNewFilesMinutes', () => {
  it('a fresh import is held with the reason, then planned once the hold ends', async () => {
    const path = join(library, 'Fresh.mkv');
    await generateClip({ path, videoCodec: 'h264', durationSec: 1 });
    const s = await stat(path);
    const fileId = fileIdFor(library, 'Fresh.mkv');
    await new EventPublisher(t.bus.js, { producer: 'watcher@test' }).emit(
      {
        type: 'file.discovered',
        data: { library, path, relativePath: 'Fresh.mkv', size: s.size, mtimeMs: s.mtimeMs },
      },
      { fileId, discriminator: `${s.size}:${s.mtimeMs}` },
    );
    const held = await eventually(async () => (await plans(fileId))[0], {
      what: 'the held plan',
    });
    assert.equal(held.data.decision, 'skip');
    assert.deepEqual(held.data.reasons, ['held: imported 0 min ago']);
    const planned = await eventually(
      async () => (await plans(fileId)).find((p) => p.causationId === held.id),
      { what: 'the plan after the hold', timeoutMs: 30_000, intervalMs: 250 },
    );
    assert.equal(planned.data.decision, 'encode');
    assert.ok(
      Date.parse(planned.time) >= s.mtimeMs + HOLD_MINUTES * 60_000,
      'planned only after the hold ended',
    );
  });

  it('holdOf is measured from mtime against the clock it is given', () => {
    const policy = { ...DEFAULT_POLICY, holdNewFilesMinutes: 60 };
    const source = { size: 1, mtimeMs: 1_000_000 };
    assert.deepEqual(holdOf(source, policy, 1_000_000 + 25 * 60_000 + 5), {
      reason: 'held: imported 25 min ago',
      untilMs: 1_000_000 + 60 * 60_000,
    });
    assert.equal(holdOf(source, policy, 1_000_000 + 60 * 60_000), null);
    assert.equal(holdOf(source, DEFAULT_POLICY, 1_000_000), null);
  });
});
