import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { BusError, connectBus, eventually, retryDelayMs } from '../src/index.js';

/** A logger whose JSON lines land in `lines`, so tests can wait for a log line. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

/** A loopback port nobody listens on (yet). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
after(async () => {
  for (const child of children) {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('retryDelayMs', () => {
  it('doubles from the first delay and stops at the ceiling', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(n, 500, 10_000)),
      [500, 1000, 2000, 4000, 8000, 10_000, 10_000],
    );
  });
});

describe('connectBus with retry', () => {
  it('waits, logging, for a nats-server started late, then connects with JetStream', async () => {
    const port = await freePort();
    const { log, lines } = capturingLogger();
    const connecting = connectBus({
      servers: `nats://127.0.0.1:${port}`,
      name: 'late-start',
      retry: { log, initialDelayMs: 100, maxDelayMs: 400 },
    });
    // The service is waiting (and says so) before any server exists.
    await eventually(() => lines.filter((l) => l.msg === 'waiting for NATS').length >= 2, {
      what: 'two "waiting for NATS" log lines',
    });
    const waiting = lines.find((l) => l.msg === 'waiting for NATS');
    assert.equal(waiting?.level, 40, 'logged as a warning');
    assert.equal(waiting?.servers, `nats://127.0.0.1:${port}`);
    assert.match(String(waiting?.reason), /cannot connect to NATS/);

    const dir = await mkdtemp(join(tmpdir(), 'conform-late-nats-'));
    dirs.push(dir);
    const server = spawn(
      'nats-server',
      ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)],
      {
        stdio: 'ignore',
      },
    );
    children.push(server);

    const bus = await connecting;
    try {
      const info = await bus.jsm.getAccountInfo();
      assert.equal(typeof info.streams, 'number', 'JetStream answers on the late server');
      const connected = lines.find((l) => l.msg === 'connected to NATS');
      assert.ok(connected, 'the successful connection after waiting is logged');
      assert.ok(Number(connected.attempts) >= 3);
    } finally {
      await bus.close();
    }
  });

  it('without retry fails at once with NATS_UNREACHABLE', async () => {
    const port = await freePort();
    await assert.rejects(
      connectBus({ servers: `nats://127.0.0.1:${port}`, name: 'one-shot' }),
      (err: unknown) =>
        err instanceof BusError &&
        err.code === 'NATS_UNREACHABLE' &&
        err.message.includes(`127.0.0.1:${port}`),
    );
  });

  it('stops waiting when its signal aborts', async () => {
    const port = await freePort();
    const { log, lines } = capturingLogger();
    const controller = new AbortController();
    const connecting = connectBus({
      servers: `nats://127.0.0.1:${port}`,
      name: 'aborted',
      retry: { log, signal: controller.signal, initialDelayMs: 60_000 },
    });
    await eventually(() => lines.some((l) => l.msg === 'waiting for NATS'), {
      what: 'a "waiting for NATS" log line',
    });
    controller.abort();
    await assert.rejects(
      connecting,
      (err: unknown) => err instanceof BusError && err.code === 'NATS_WAIT_ABORTED',
    );
  });
});
