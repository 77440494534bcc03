import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sampleEvent } from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  EventPublisher,
  STATE_LOCK_FILE,
  StateDirLockedError,
  acquireStateLock,
  consumerSpec,
  eventually,
  processExists,
  processStartTime,
  provisionConsumer,
  provisionEventLog,
  runWorker,
  silentLogger,
  startNatsServer,
  startTestBus,
  usesStore,
  type TestBus,
} from '../src/index.js';

let t: TestBus;
let dir: string;
before(async () => {
  t = await startTestBus();
  await provisionEventLog(t.bus.jsm, { maxBytes: 16 * 1024 * 1024 });
  dir = await mkdtemp(join(tmpdir(), 'conform-lifecycle-'));
});
after(async () => {
  await t.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('worker stop', () => {
  it(
    'ends an idle pull at once instead of sitting out its expiry',
    { timeout: 30_000 },
    async () => {
      const consumer = consumerSpec('idle-stop', 'encode.failed', {
        ackWaitMs: 5_000,
        maxDeliver: 3,
      });
      consumer.filterSubject = 'conform.evt.encode.failed.idle-stop';
      await provisionConsumer(t.bus.jsm, consumer);
      const handled: string[] = [];
      const abort = new AbortController();
      const done = runWorker({
        js: t.bus.js,
        publisher: new EventPublisher(t.bus.js, { producer: 'test@host' }),
        consumer,
        handle: async (event) => void handled.push(event.id),
        log: silentLogger(),
        signal: abort.signal,
        // Ten minutes: a stop that waited for the pull to expire would outlast the test's timeout.
        pullExpiresMs: 600_000,
      });
      // The worker really is pulling: a message published now is handled by that long pull.
      const event = sampleEvent('encode.failed', 'idle-stop');
      await new EventPublisher(t.bus.js, { producer: 'test@host' }).publish(event);
      await eventually(() => handled.includes(event.id), { what: 'the event handled' });
      abort.abort();
      await done;
    },
  );
});

describe('state directory lock', () => {
  it('is refused to a second process while held, naming the holder', async () => {
    const state = await mkdtemp(join(dir, 'held-'));
    const lock = await acquireStateLock(state);
    try {
      const script = `import('${new URL('../src/index.js', import.meta.url).href}')
        .then((b) => b.acquireStateLock(${JSON.stringify(state)}))
        .then(() => console.log('acquired'), (e) => console.log(e.name, e.code, e.pid, e.message));`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script]);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await new Promise((r) => child.once('exit', r));
      assert.match(out, new RegExp(`^StateDirLockedError STATE_DIR_LOCKED ${process.pid} `));
      assert.match(out, new RegExp(`pid ${process.pid}`));
    } finally {
      await lock.release();
    }
    const again = await acquireStateLock(state); // released: free again
    await again.release();
  });

  it('takes over a lock whose holder is dead, or whose pid now belongs to another process', async () => {
    const state = await mkdtemp(join(dir, 'stale-'));
    const path = join(state, STATE_LOCK_FILE);
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.once('exit', r));
    assert.equal(processExists(dead.pid!), false);
    await writeFile(path, JSON.stringify({ pid: dead.pid, startTime: '1', since: 'then' }));
    const first = await acquireStateLock(state);
    assert.equal(JSON.parse(await readFile(path, 'utf8')).pid, process.pid);
    await first.release();

    // pid 1 is alive, but its start time is not the one recorded: the pid was reused.
    const initStart = await processStartTime(1);
    assert.ok(initStart);
    await writeFile(path, JSON.stringify({ pid: 1, startTime: `${initStart}9`, since: 'then' }));
    const second = await acquireStateLock(state);
    assert.equal(JSON.parse(await readFile(path, 'utf8')).pid, process.pid);
    await second.release();

    // The same pid and start time: really alive, so refused.
    await writeFile(path, JSON.stringify({ pid: 1, startTime: initStart, since: 'then' }));
    await assert.rejects(acquireStateLock(state), (err: unknown) => {
      assert.ok(err instanceof StateDirLockedError);
      assert.equal(err.pid, 1);
      return true;
    });
  });
});

describe('nats-server watchdog', () => {
  it(
    'stops the server when the process that started it is SIGKILLed',
    { timeout: 30_000 },
    async () => {
      const store = join(dir, 'watchdog-store');
      const script = `import('${new URL('../src/index.js', import.meta.url).href}')
      .then((b) => b.startNatsServer({ storeDir: ${JSON.stringify(store)} }))
      .then((s) => { console.log(s.pid); setInterval(() => {}, 1000); });`;
      const parent = spawn(process.execPath, ['--input-type=module', '-e', script]);
      let out = '';
      parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const pid = Number(
        await eventually(() => out.trim().match(/^\d+$/)?.[0], { what: 'server pid' }),
      );
      assert.equal(processExists(pid), true);
      parent.kill('SIGKILL');
      await eventually(() => !processExists(pid), {
        timeoutMs: 15_000,
        what: 'the orphaned nats-server stopped by its watchdog',
      });
    },
  );

  it('does not outlive a clean stop either', async () => {
    const server = await startNatsServer({ storeDir: join(dir, 'clean-store') });
    await server.stop();
    assert.equal(processExists(server.pid), false);
  });

  it(
    'kills a server that ignores SIGTERM once the grace is over',
    { timeout: 30_000 },
    async () => {
      // A stand-in binary that writes the ports file like nats-server, then ignores SIGTERM.
      const binary = join(dir, 'stubborn-server');
      await writeFile(
        binary,
        [
          '#!/bin/sh',
          "trap '' TERM",
          'while [ "$1" != "--ports_file_dir" ]; do shift; done',
          `echo '{"nats":["nats://127.0.0.1:1"],"monitoring":["http://127.0.0.1:2"]}' > "$2/nats-server_$$.ports"`,
          'while :; do sleep 0.1; done',
        ].join('\n'),
        { mode: 0o755 },
      );
      for (const graceMs of [300, undefined]) {
        const server = await startNatsServer({ storeDir: join(dir, 'stubborn-store'), binary });
        const started = Date.now();
        await server.stop(graceMs === undefined ? undefined : { graceMs });
        const took = Date.now() - started;
        assert.equal(
          processExists(server.pid),
          false,
          `grace ${graceMs ?? 'default'}: still running`,
        );
        // It was SIGTERMed and outlived it: it went only when the grace (forced, or 5 s) was over.
        assert.ok(
          took >= (graceMs ?? 5_000),
          `grace ${graceMs ?? 'default'}: gone after ${took} ms`,
        );
      }
    },
  );
});

describe('usesStore', () => {
  it('recognises a nats-server on a store by -sd, --store_dir and --store_dir=', () => {
    assert.equal(usesStore(['nats-server', '-js', '-sd', '/s/nats'], '/s/nats'), true);
    assert.equal(usesStore(['/usr/bin/nats-server', '--store_dir', '/s/nats/'], '/s/nats'), true);
    assert.equal(usesStore(['nats-server', '--store_dir=/s/nats'], '/s/nats'), true);
    assert.equal(usesStore(['nats-server', '-sd', '/s/nats2'], '/s/nats'), false);
    assert.equal(usesStore(['node', 'x.js', '-sd', '/s/nats'], '/s/nats'), false);
  });
});

describe('BusHealth', () => {
  it(
    'reports a consumer whose pull loop keeps failing, and its recovery',
    { timeout: 60_000 },
    async () => {
      const { BusHealth } = await import('../src/index.js');
      const { Registry } = await import('prom-client');
      const registry = new Registry();
      const health = new BusHealth(t.bus.nc, silentLogger(), { registry });
      const consumer = consumerSpec('health-probe', 'encode.failed', {
        ackWaitMs: 5_000,
        maxDeliver: 3,
      });
      consumer.filterSubject = 'conform.evt.encode.failed.health-probe';
      await provisionConsumer(t.bus.jsm, consumer);
      const abort = new AbortController();
      const done = runWorker({
        js: t.bus.js,
        publisher: new EventPublisher(t.bus.js, { producer: 'test@host' }),
        consumer,
        handle: async () => undefined,
        log: silentLogger(),
        signal: abort.signal,
        pullExpiresMs: 1_000,
        onPullError: (err) => health.consumerFailed(consumer.durable, err),
        onPullOk: () => health.consumerOk(consumer.durable),
      });
      try {
        assert.deepEqual(await health.report(), { ready: true, reasons: [] });
        await t.bus.jsm.consumers.delete(EVENT_LOG_STREAM, consumer.durable);
        const report = await eventually(
          async () => {
            const r = await health.report();
            return r.ready ? null : r;
          },
          { timeoutMs: 20_000, what: 'the consumer reported failing' },
        );
        assert.match(
          report.reasons.join(),
          /consumer health-probe-encode-failed failed \d+ times in a row/,
        );
        assert.match(await registry.metrics(), /^conform_consumers_failing 1$/m);
        assert.match(await registry.metrics(), /^conform_ready 0$/m);
        await provisionConsumer(t.bus.jsm, consumer);
        await eventually(async () => (await health.report()).ready, {
          timeoutMs: 20_000,
          what: 'healthy again once the consumer exists',
        });
        assert.match(await registry.metrics(), /^conform_ready 1$/m);
      } finally {
        abort.abort();
        await done;
      }
    },
  );
});
