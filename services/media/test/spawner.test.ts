import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { getPriority, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { generateClip, PROBE_NICENESS, processesMentioning } from '../src/index.js';
import { runTool, startToolHelper, toolHelperPid } from '../src/spawner.js';

/** The parent pid of a running process (Linux /proc). */
async function parentOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Waits until a process whose command line mentions `marker` runs; its pids. */
async function running(marker: string): Promise<number[]> {
  for (;;) {
    const pids = await processesMentioning(marker);
    if (pids.length) return pids;
    await sleep(20);
  }
}

describe('runTool (tools started from the helper process)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conform-spawner-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs its tools at the probe niceness, below conform', async () => {
    const result = await runTool('nice', []); // nice(1) with no command prints its niceness
    assert.equal(result.exitCode, 0);
    assert.equal(Number(result.stdout.trim()), PROBE_NICENESS);
    assert.ok(PROBE_NICENESS > 0);
  });

  it("runs a tool asked for at niceness 0 at this process's own priority, from another helper", async () => {
    const own = await runTool('nice', [], { niceness: 0 });
    assert.equal(Number(own.stdout.trim()), getPriority());
    const probes = await runTool('nice', []);
    assert.equal(Number(probes.stdout.trim()), PROBE_NICENESS);
    const helper = toolHelperPid(0);
    assert.ok(helper !== undefined && helper !== toolHelperPid());
    assert.equal(await parentOf(helper), process.pid);
  });

  it('starts a helper ahead of its first run, and that run uses it', async () => {
    assert.equal(toolHelperPid(3), undefined);
    startToolHelper(3);
    const helper = toolHelperPid(3);
    assert.ok(helper !== undefined);
    assert.equal(await parentOf(helper), process.pid);
    const r = await runTool('nice', [], { niceness: 3 });
    assert.equal(Number(r.stdout.trim()), Math.max(3, getPriority()));
    assert.equal(toolHelperPid(3), helper);
  });

  it('elides a long stderr to its head and tail when asked, and lets the tool finish', async () => {
    // 20,000 numbered lines (about 200 KiB) to stderr.
    const script =
      'i=0; while [ $i -lt 20000 ]; do echo "line $i" >&2; i=$((i+1)); done; echo done';
    const r = await runTool('sh', ['-c', script], { stderr: 'elide' });
    assert.equal(r.failed, false);
    assert.equal(r.stdout, 'done');
    assert.ok(r.stderr.startsWith('line 0\nline 1\n'));
    assert.ok(r.stderr.endsWith('line 19998\nline 19999'));
    assert.ok(r.stderr.includes('\n[...]\n'));
    assert.ok(r.stderr.length < 80 * 1024, `kept ${r.stderr.length} characters`);
    const whole = await runTool('sh', ['-c', script]);
    assert.equal(whole.stderr.split('\n').length, 20_000);
  });

  it('kills a cancelled tool at once when asked for no grace period', async () => {
    const marker = `conform-cancel-now-${process.pid}`;
    const ac = new AbortController();
    // Ignores SIGTERM: only a SIGKILL ends it before its 30 s are up.
    const script = "process.on('SIGTERM', () => {}); setTimeout(() => {}, 30_000)";
    const result = runTool(process.execPath, ['-e', script, marker], {
      signal: ac.signal,
      forceKillAfterDelay: 0,
    });
    await running(marker);
    ac.abort();
    const r = await result;
    assert.equal(r.isCanceled, true);
    assert.equal(r.signal, 'SIGKILL');
  });

  it('runs ffprobe in a helper process that is a child of this one, and reuses it', async () => {
    const clip = join(dir, 'clip.mkv');
    await generateClip({ path: clip, durationSec: 1 });
    const args = ['-v', 'error', '-print_format', 'json', '-show_streams', clip];
    const first = await runTool('ffprobe', args);
    assert.equal(first.failed, false);
    assert.equal(first.exitCode, 0);
    const parsed = JSON.parse(first.stdout) as { streams: { codec_type: string }[] };
    assert.ok(parsed.streams.some((s) => s.codec_type === 'video'));
    const helper = toolHelperPid();
    assert.ok(helper !== undefined && helper !== process.pid);
    assert.equal(await parentOf(helper), process.pid);
    const again = await runTool('ffprobe', args);
    assert.equal(again.stdout, first.stdout);
    assert.equal(toolHelperPid(), helper);
  });

  it("describes a tool's failure: exit code and stderr, one final newline stripped", async () => {
    const r = await runTool('sh', ['-c', 'echo out; printf "first\\nlast\\n" >&2; exit 3']);
    assert.equal(r.failed, true);
    assert.equal(r.isCanceled, false);
    assert.equal(r.exitCode, 3);
    assert.equal(r.stdout, 'out');
    assert.equal(r.stderr, 'first\nlast');
  });

  it('describes a missing tool as ENOENT without an exit code, as execa does', async () => {
    const r = await runTool('conform-no-such-tool', []);
    assert.equal(r.failed, true);
    assert.equal(r.code, 'ENOENT');
    assert.equal(r.exitCode, undefined);
  });

  it("looks the tool up on this process's PATH as it is at the call", async () => {
    const bin = join(dir, 'bin');
    await rm(bin, { recursive: true, force: true });
    await mkdir(bin);
    const tool = join(bin, 'conform-fake-tool');
    await writeFile(tool, '#!/bin/sh\necho "fake $1"\n');
    await chmod(tool, 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${bin}${delimiter}${path ?? ''}`;
    try {
      const r = await runTool('conform-fake-tool', ['one']);
      assert.equal(r.failed, false);
      assert.equal(r.stdout, 'fake one');
    } finally {
      process.env.PATH = path;
    }
    assert.equal((await runTool('conform-fake-tool', [])).code, 'ENOENT');
  });

  it('kills a cancelled tool and says it was cancelled', async () => {
    const marker = `conform-cancel-${process.pid}`;
    const ac = new AbortController();
    const result = runTool(process.execPath, ['-e', 'setTimeout(() => {}, 30_000)', marker], {
      signal: ac.signal,
    });
    await running(marker);
    ac.abort();
    const r = await result;
    assert.equal(r.isCanceled, true);
    assert.equal(r.failed, true);
    assert.deepEqual(await processesMentioning(marker), []);
  });

  it('still runs what was in flight when the helper dies, and starts a new helper', async () => {
    const marker = `conform-orphan-${process.pid}`;
    const flag = join(dir, 'go');
    // Runs until the flag exists, so it is surely in flight when the helper is killed.
    const script = `while [ ! -e '${flag}' ]; do sleep 0.05; done; echo done`;
    const result = runTool('sh', ['-c', script, marker]);
    await running(marker);
    const helper = toolHelperPid()!;
    process.kill(helper, 'SIGKILL');
    await writeFile(flag, '');
    const r = await result;
    assert.equal(r.failed, false);
    assert.equal(r.stdout, 'done');
    const next = await runTool('sh', ['-c', 'echo next']);
    assert.equal(next.stdout, 'next');
    const replacement = toolHelperPid();
    assert.ok(replacement !== undefined && replacement !== helper);
  });
});
