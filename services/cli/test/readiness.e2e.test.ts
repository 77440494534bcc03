import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, startNatsServer, type NatsServerHandle } from '@conform/bus';
import { runConform, upArgs } from './run-conform.js';

// Readiness is the truth: `conform up --nats URL` against a real nats-server that is SIGKILLed
// and restarted on the same port and store.

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-e2e-ready-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function probe(url: string, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}${path}`);
  return { status: res.status, body: await res.text() };
}

const gauge = (metrics: string, name: string) =>
  Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);

describe('/readyz under a NATS outage', () => {
  it(
    'goes 503 naming NATS while the server is dead, /healthz stays 200, and both come back after a restart',
    { timeout: 120_000 },
    async () => {
      const root = join(dir, 'outage');
      await mkdir(join(root, 'library'), { recursive: true });
      const store = join(root, 'external-nats');
      let nats: NatsServerHandle = await startNatsServer({ storeDir: store });
      const port = Number(new URL(nats.url).port);
      const conform = runConform([...upArgs(root), '--nats', nats.url]);
      try {
        const url = String((await conform.waitForLog('status server listening')).url);
        await conform.waitForLog('all services started'); // start-up is over
        await eventually(async () => (await probe(url, '/readyz')).status === 200, {
          timeoutMs: 20_000,
          what: 'ready with NATS up',
        });
        assert.equal(
          gauge(await (await fetch(`${url}/metrics`)).text(), 'conform_nats_connected'),
          1,
        );

        process.kill(nats.pid, 'SIGKILL');
        const down = await eventually(
          async () => {
            const r = await probe(url, '/readyz');
            // The first 503 may be a check that got no answer; wait for the connection's verdict.
            return r.status === 503 && /NATS (disconnected|connection went stale)/.test(r.body)
              ? r
              : null;
          },
          { timeoutMs: 20_000, what: '/readyz 503 naming NATS after the server died' },
        );
        assert.equal(JSON.parse(down.body).status, 'unavailable');
        assert.equal((await probe(url, '/healthz')).status, 200, 'liveness stays up');
        const metrics = await (await fetch(`${url}/metrics`)).text();
        assert.equal(gauge(metrics, 'conform_nats_connected'), 0);
        assert.equal(gauge(metrics, 'conform_ready'), 0);
        await conform.waitForLog('NATS connection lost', 1_000);

        nats = await startNatsServer({ storeDir: store, port });
        await eventually(async () => (await probe(url, '/readyz')).status === 200, {
          timeoutMs: 30_000,
          what: '/readyz 200 again after the restart',
        });
        await conform.waitForLog('NATS connection restored', 1_000);
        const after = await (await fetch(`${url}/metrics`)).text();
        assert.equal(gauge(after, 'conform_nats_connected'), 1);
        assert.equal(gauge(after, 'conform_ready'), 1);

        conform.child.kill('SIGTERM');
        assert.equal(await conform.exited, 0, conform.stderr());
      } finally {
        conform.kill();
        await nats.stop();
      }
    },
  );
});
