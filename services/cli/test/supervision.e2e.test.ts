import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '@conform/bus';
import {
  findProcesses,
  processAlive,
  runConform,
  sha256,
  upArgs,
  upMidEncode,
} from './run-conform.js';

// One store, one server; and stopping, including a second signal, leaves no process behind.
// All through the real binary and its embedded nats-server.

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-e2e-supervision-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function readyAt(url: string): Promise<boolean> {
  const res = await fetch(`${url}/readyz`).catch(() => null);
  return res?.status === 200;
}

describe('the embedded nats-server', () => {
  it(
    'dies with conform even after SIGKILL, and the next conform up on the store starts',
    { timeout: 120_000 },
    async () => {
      const root = join(dir, 'sigkill');
      await mkdir(join(root, 'library'), { recursive: true });
      const store = join(root, 'state', 'nats');
      const first = runConform(upArgs(root));
      try {
        const nats = await first.waitForLog('embedded nats-server started');
        await first.waitForLog('status server listening');
        assert.deepEqual(await findProcesses('nats-server', store), [Number(nats.pid)]);
        first.child.kill('SIGKILL');
        await first.exited;
        // The watchdog notices its pipe close and stops the orphan.
        await eventually(async () => (await findProcesses('nats-server', store)).length === 0, {
          timeoutMs: 15_000,
          what: 'no nats-server left on the store after SIGKILL',
        });
      } finally {
        first.kill();
      }

      const second = runConform(upArgs(root));
      try {
        const url = String((await second.waitForLog('status server listening')).url);
        const nats = await second.waitForLog('embedded nats-server started');
        await eventually(() => readyAt(url), { timeoutMs: 20_000, what: 'ready after restart' });
        assert.deepEqual(await findProcesses('nats-server', store), [Number(nats.pid)]);
        second.child.kill('SIGTERM');
        assert.equal(await second.exited, 0, second.stderr());
        assert.equal(await exists(join(root, 'state', 'conform.lock')), false, 'lock released');
      } finally {
        second.kill();
      }
    },
  );

  it(
    'stops an orphaned nats-server found on the store before starting its own',
    { timeout: 120_000 },
    async () => {
      const root = join(dir, 'orphan');
      await mkdir(join(root, 'library'), { recursive: true });
      const store = join(root, 'state', 'nats');
      await mkdir(store, { recursive: true });
      // An orphan as an older conform (no watchdog) left it: own session, our store.
      const orphan = spawn('nats-server', ['-js', '-sd', store, '-a', '127.0.0.1', '-p', '-1'], {
        stdio: 'ignore',
        detached: true,
      });
      orphan.unref();
      const conform = runConform(upArgs(root));
      try {
        await eventually(async () => (await findProcesses('nats-server', store)).length > 0, {
          what: 'the orphan running',
        });
        const stopped = await conform.waitForLog('stopping an orphaned nats-server on this store');
        assert.equal(stopped.pid, orphan.pid);
        const nats = await conform.waitForLog('embedded nats-server started');
        assert.equal(processAlive(orphan.pid!), false, 'the orphan is gone');
        assert.deepEqual(await findProcesses('nats-server', store), [Number(nats.pid)]);
        conform.child.kill('SIGTERM');
        assert.equal(await conform.exited, 0, conform.stderr());
      } finally {
        conform.kill();
        if (orphan.pid && processAlive(orphan.pid)) process.kill(orphan.pid, 'SIGKILL');
      }
    },
  );

  it(
    'refuses a state directory another live conform holds, naming its pid',
    { timeout: 120_000 },
    async () => {
      const root = join(dir, 'held');
      await mkdir(join(root, 'library'), { recursive: true });
      const store = join(root, 'state', 'nats');
      const holder = runConform(upArgs(root));
      try {
        const nats = await holder.waitForLog('embedded nats-server started');
        const intruder = runConform(upArgs(root));
        try {
          const code = await intruder.exited;
          assert.notEqual(code, 0);
          assert.match(
            intruder.stderr(),
            new RegExp(`in use by another conform process \\(pid ${holder.child.pid}\\)`),
          );
          assert.match(intruder.stderr(), new RegExp(join(root, 'state')));
          assert.deepEqual(await findProcesses('nats-server', store), [Number(nats.pid)]);
          assert.equal(processAlive(Number(nats.pid)), true, 'the holder keeps its server');
        } finally {
          intruder.kill();
        }
        holder.child.kill('SIGTERM');
        assert.equal(await holder.exited, 0, holder.stderr());
      } finally {
        holder.kill();
      }
    },
  );
});

describe('stopping conform up', () => {
  it(
    'on a second SIGTERM mid-encode forces a fast stop: ffmpeg killed, nats-server stopped, nothing orphaned',
    { timeout: 180_000 },
    async () => {
      const root = join(dir, 'forced');
      const { conform, nats, ffmpeg, source, originalHash } = await upMidEncode(root, {
        timeoutMs: 90_000,
      });
      try {
        // A server that stops answering (frozen) hangs the clean stop at the bus, so the second
        // signal lands while the first stop is still under way, every time.
        process.kill(Number(nats.pid), 'SIGSTOP');
        conform.child.kill('SIGTERM');
        await conform.waitForLog('stopping: finishing or returning in-flight work', 5_000);
        await new Promise((r) => setTimeout(r, 500));
        conform.child.kill('SIGTERM');
        assert.equal(await conform.exited, 130, conform.stderr());
        await conform.waitForLog('second signal: forcing a fast stop', 1_000);
        // Stopped by conform itself (not left to the watchdog): its log says so, lock released.
        // (Frozen, it cannot take SIGTERM: the short grace ends in SIGKILL.)
        await conform.waitForLog('embedded nats-server stopped', 1_000);
        assert.equal(processAlive(ffmpeg), false, 'ffmpeg was killed');
        assert.equal(processAlive(Number(nats.pid)), false, 'embedded nats-server is gone');
        assert.deepEqual(await findProcesses('nats-server', join(root, 'state')), []);
        assert.equal(await exists(join(root, 'state', 'conform.lock')), false, 'lock released');
        assert.equal(await sha256(source), originalHash);
        const library = await readdir(join(root, 'library'));
        assert.deepEqual(
          library.filter((f) => f !== '.conform-work'),
          ['Long.mkv'],
        );
      } finally {
        conform.kill();
      }
    },
  );
});
