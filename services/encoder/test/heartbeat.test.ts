import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CONTROL_FILE_ID,
  decodeHeartbeat,
  nodeKeyFor,
  sampleData,
  type NodeHeartbeat,
} from '@conform/contracts';
import {
  EventPublisher,
  eventually,
  openNodeRegistry,
  silentLogger,
  startTestBus,
  type ServiceContext,
  type TestBus,
} from '@conform/bus';
import { generateClip } from '@conform/media';
import { detectEncodersOnce, heartbeatOf, sameReport, startEncoder } from '../src/index.js';

let t: TestBus;
let library: string;
let publisher: EventPublisher;

before(async () => {
  t = await startTestBus('encoder-heartbeat-test');
  publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
  library = await mkdtemp(join(tmpdir(), 'conform-encoder-heartbeat-'));
});
after(async () => {
  await t.cleanup();
  await rm(library, { recursive: true, force: true });
});

describe('node heartbeat', () => {
  it('is a valid v1 heartbeat that adds up the slots in use', () => {
    const hb = heartbeatOf(
      {
        devices: [
          { backend: 'cpu', encoders: ['libx265'], slots: 2, inUse: 1 },
          { backend: 'nvenc', encoders: ['hevc_nvenc'], slots: 3, inUse: 2 },
        ],
        paused: true,
        pauseReasons: ['low-disk'],
      },
      {
        node: 'encoder@nas',
        host: 'nas',
        startedAt: '2026-01-01T00:00:00.000Z',
        intervalMs: 5_000,
      },
      new Date('2026-01-01T00:01:00.000Z'),
    );
    assert.equal(hb.running, 3);
    assert.equal(hb.intervalSec, 5);
    const decoded = decodeHeartbeat(new TextEncoder().encode(JSON.stringify(hb)));
    assert.ok(decoded.ok);
    // Readers tolerate fields they do not know; a wrong version is refused with the path.
    const newer = decodeHeartbeat(new TextEncoder().encode(JSON.stringify({ ...hb, gpus: 2 })));
    assert.ok(newer.ok);
    const wrong = decodeHeartbeat(new TextEncoder().encode(JSON.stringify({ ...hb, version: 2 })));
    assert.equal(wrong.ok, false);
    assert.match(wrong.ok ? '' : wrong.error, /\/version/);
    assert.equal(nodeKeyFor('encoder@nas'), 'encoder=40nas');
  });

  it('a beat that reports the same as the last write, time aside, is left out', () => {
    const node = {
      node: 'n',
      host: 'h',
      startedAt: '2026-01-01T00:00:00.000Z',
      intervalMs: 10_000,
    };
    const snapshot = (inUse: number) => ({
      devices: [{ backend: 'cpu' as const, encoders: ['libx265'], slots: 2, inUse }],
      paused: false,
      pauseReasons: [],
    });
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    const first = heartbeatOf(snapshot(1), node, at(1));
    assert.equal(sameReport(first, heartbeatOf(snapshot(1), node, at(2))), true);
    assert.equal(sameReport(first, heartbeatOf(snapshot(2), node, at(2))), false);
    assert.equal(sameReport(first, heartbeatOf(snapshot(1), node, at(2), 'stopped')), false);
  });

  it('an encoder node reports devices, slots in use and pauses, and says when it stopped', async () => {
    const node = 'encoder@hb-node';
    const encoder = await startEncoder(
      {
        bus: t.bus,
        publisher: new EventPublisher(t.bus.js, { producer: node }),
        log: silentLogger(),
        eventLog: { maxBytes: 64 * 1024 * 1024 },
      } satisfies ServiceContext,
      {
        niceness: 0, // not a priority test: at 19 a busy CI machine starves the encode
        node,
        availability: await detectEncodersOnce(),
        encoder: 'libx265',
        minFreeBytes: 0,
        checkIntervalMs: 200,
        heartbeatIntervalMs: 60_000,
      },
    );
    const registry = await openNodeRegistry(t.bus, { create: false });
    const mine = async (): Promise<NodeHeartbeat | undefined> => {
      for (const e of await registry.list()) {
        if (e.ok && e.heartbeat.node === node) return e.heartbeat;
      }
      return undefined;
    };
    // Every heartbeat, so a short-lived state (one encode running) cannot slip between reads.
    const seen: NodeHeartbeat[] = [];
    const unwatch = await registry.watch((hb) => {
      if (hb.node === node) seen.push(hb);
    });
    let stopped = false;
    try {
      const first = await eventually(mine, { what: 'the first heartbeat' });
      assert.equal(first.state, 'running');
      const cpu = first.devices.find((d) => d.backend === 'cpu');
      assert.ok(cpu?.encoders.includes('libx265'), JSON.stringify(first.devices));
      assert.equal(cpu?.inUse, 0);
      assert.equal(first.paused, false);

      const path = join(library, 'busy.mkv');
      await generateClip({ path, durationSec: 20 });
      await publisher.emit(
        {
          type: 'file.planned',
          data: {
            ...sampleData['file.planned'],
            library,
            path,
            source: { size: 50_000_000, mtimeMs: 1 },
            target: { videoCodec: 'hevc', container: 'mkv' },
            durationSec: 20,
          },
        },
        { fileId: 'busy' },
      );
      // The interval is a minute: these come from the beats on slot and pause changes.
      const busy = await eventually(() => seen.find((hb) => hb.running === 1), {
        what: 'a heartbeat with the encode running',
        timeoutMs: 30_000,
      });
      assert.equal(busy.devices.find((d) => d.backend === 'cpu')?.inUse, 1);

      await publisher.emit(
        {
          type: 'control.requested',
          data: { action: 'pause', path: null, now: false, requestedBy: 'test' },
        },
        { fileId: CONTROL_FILE_ID, discriminator: 'hb-pause' },
      );
      const paused = await eventually(async () => ((await mine())?.paused ? mine() : null), {
        what: 'a paused heartbeat',
      });
      assert.deepEqual(paused.pauseReasons, ['manual']);
      await encoder.stop();
      stopped = true;
      assert.equal((await mine())?.state, 'stopped');
    } finally {
      unwatch();
      if (!stopped) await encoder.stop();
    }
  });
});
