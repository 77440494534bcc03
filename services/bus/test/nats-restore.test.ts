import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connectBus } from '../src/connection.js';
import { provisionEventLog } from '../src/event-log.js';
import { startNatsServer, streamRestoreOf, type StreamRestore } from '../src/nats-server.js';

describe('the nats-server restore of a store', () => {
  it('reads the restore lines nats-server 2.9 logs', () => {
    assert.deepEqual(
      streamRestoreOf(
        "[14385] 2026/12/01 19:34:54.050644 [INF]   Starting restore for stream '$G > CONFORM_EVENTS'",
      ),
      { stream: 'CONFORM_EVENTS', done: false },
    );
    assert.deepEqual(
      streamRestoreOf(
        "[14385] 2026/12/01 19:35:07.342246 [INF]   Restored 2,000,000 messages for stream '$G > CONFORM_EVENTS'",
      ),
      { stream: 'CONFORM_EVENTS', done: true, messages: 2_000_000 },
    );
    assert.equal(streamRestoreOf('[1] [INF] Server is ready'), null);
  });

  it(
    'is reported while the server starts on a store with streams',
    { timeout: 60_000 },
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'conform-test-restore-'));
      try {
        const store = join(dir, 'store');
        let server = await startNatsServer({ storeDir: store });
        const bus = await connectBus({ servers: server.url, name: 'test' });
        await provisionEventLog(bus.jsm, {});
        for (let i = 0; i < 10; i++)
          await bus.js.publish(`conform.evt.file.discovered.f${i}`, '{}');
        await bus.close();
        await server.stop();

        const seen: StreamRestore[] = [];
        server = await startNatsServer({ storeDir: store, onRestore: (r) => seen.push(r) });
        await server.stop();
        assert.deepEqual(
          seen.filter((r) => r.stream === 'CONFORM_EVENTS'),
          [
            { stream: 'CONFORM_EVENTS', done: false },
            { stream: 'CONFORM_EVENTS', done: true, messages: 10 },
          ],
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
