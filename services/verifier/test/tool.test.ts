import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { getPriority } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { PROBE_NICENESS, processesMentioning, toolHelperPid } from '@conform/media';
import { runTool, VERIFY_NICENESS } from '../src/tool.js';

/** Field `n` (1-based, as proc(5) numbers them) of /proc/PID/stat. */
async function statField(pid: number, n: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[n - 3]);
}

describe("the verifier's tool runs (media's helper process)", () => {
  it("runs ffmpeg from a helper of its own, at this process's priority, and kills it on abort", async () => {
    // A decode that would run for minutes, marked so it can be found.
    const marker = `testsrc=size=32x32:rate=1:duration=${3600 + (process.pid % 1000)}`;
    const ac = new AbortController();
    const run = runTool(
      'ffmpeg',
      ['-nostdin', '-re', '-f', 'lavfi', '-i', marker, '-f', 'null', '-'],
      {
        signal: ac.signal,
      },
    );
    let pids: number[] = [];
    while (pids.length === 0) {
      pids = await processesMentioning(marker);
      await sleep(20);
    }
    const helper = toolHelperPid(VERIFY_NICENESS);
    assert.ok(helper !== undefined && helper !== process.pid);
    assert.notEqual(helper, toolHelperPid(PROBE_NICENESS));
    assert.equal(await statField(pids[0]!, 4), helper); // its parent
    assert.equal(await statField(pids[0]!, 19), getPriority()); // its nice value
    const reason = new Error('stop here');
    ac.abort(reason);
    await assert.rejects(run, (err) => err === reason);
    assert.deepEqual(await processesMentioning(marker), []);
  });

  it('keeps the head and tail of a very long stderr and lets the tool finish', async () => {
    // showinfo logs one line of about 300 bytes per frame: 1000 frames, about 300 KiB.
    const r = await runTool('ffmpeg', [
      '-hide_banner',
      '-nostdin',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=32x32:rate=1000:duration=1,showinfo',
      '-f',
      'null',
      '-',
    ]);
    assert.equal(r.exitCode, 0);
    assert.ok(r.stderr.includes('\n[...]\n'));
    assert.ok(r.stderr.length < 80 * 1024, `kept ${r.stderr.length} characters`);
    assert.match(r.stderr.slice(0, 2000), /n: *0 /); // the first frame's line
    assert.match(r.stderr.slice(-8 * 1024), /n: *999 /); // the last one's
  });
});
