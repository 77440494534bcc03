import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { InProcessProber } from '@conform/media';
import {
  OUTPUT_WINDOW_MARGIN_SEC,
  PLANNED_WINDOW_SLACK_SEC,
  outputWindows,
  listVideoPackets,
  listsByPlan,
  plannedOutputWindows,
  probeFacts,
  verifyOutput,
  windowsCover,
} from '../src/index.js';
import { completedFor, makeLongPair } from './media.js';

describe('the output probed beside the source, placed by the plan’s duration', () => {
  let dir: string;
  let source: string;
  let output: string;
  let log: string;
  let wrapped: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conform-verifier-planned-'));
    source = join(dir, 'source.mp4');
    output = join(dir, 'output.mkv');
    await makeLongPair(source, output);
    // The real ffprobe, behind a script that writes down each run's arguments: which probes of
    // the output ran, and with which windows.
    const bin = join(dir, 'bin');
    log = join(dir, 'ffprobe.log');
    const real = execFileSync('sh', ['-c', 'command -v ffprobe']).toString().trim();
    execFileSync('mkdir', [bin]);
    await writeFile(
      join(bin, 'ffprobe'),
      `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${real}' "$@"\n`,
    );
    await chmod(join(bin, 'ffprobe'), 0o755);
    wrapped = `${bin}${delimiter}${process.env.PATH ?? ''}`;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const completed = (durationSec?: number) =>
    completedFor(dir, source, output, {
      encoder: 'libx265',
      ...(durationSec !== undefined ? { durationSec } : {}),
    });

  /** verifyOutput with the wrapped ffprobe: its outcome and the windows of each facts probe of the output. */
  const verified = async (durationSec?: number) => {
    await writeFile(log, '');
    const path = process.env.PATH;
    process.env.PATH = wrapped;
    try {
      const outcome = await verifyOutput(await completed(durationSec), { decodeRanges: 2 });
      const runs = (await readFile(log, 'utf8')).split('\n');
      const probes = runs.filter((l) => l.includes('-show_format') && l.endsWith(output));
      return {
        outcome,
        windows: probes.map((l) => /-read_intervals (\S+)/.exec(l)?.[1] ?? ''),
        sourceRuns: runs.filter((l) => l.endsWith(source)).length,
      };
    } finally {
      process.env.PATH = path;
    }
  };

  it('places the windows by the duration the planner read, covering those the source’s facts place', async () => {
    // The duration as `conform up` plans it: in process where it can, else ffprobe.
    const prober = new InProcessProber(1);
    const planned = await prober.probeOrFallback(source);
    prober.close();
    assert.ok(planned.ok);
    const durationSec = planned.media.durationSec;
    assert.ok(durationSec !== null && durationSec > 0);
    const facts = await probeFacts(source);
    assert.ok(facts.ok);
    const early = plannedOutputWindows({ encoder: 'libx265', durationSec }, { decodeRanges: 2 });
    const wanted = outputWindows({ encoder: 'libx265' }, facts.facts, { decodeRanges: 2 });
    assert.deepEqual(wanted, ['2%10.14']);
    assert.ok(early && windowsCover(early, wanted), JSON.stringify({ early, wanted }));
  });

  it('probes the output once, with the planned windows, and verifies it as without them', async () => {
    const without = await verified();
    assert.deepEqual(without.windows, ['2%10.14']);
    // Without the plan's duration the source is probed and its packets listed apart.
    assert.equal(without.sourceRuns, 2);
    const margin = OUTPUT_WINDOW_MARGIN_SEC + PLANNED_WINDOW_SLACK_SEC;
    const withPlan = await verified(12);
    assert.deepEqual(withPlan.windows, [`${6 - 3 - margin}%${6 + 3 + 0.14 + margin}`]);
    // Short by the plan: its facts probe lists its packets too, so one ffprobe reads the source.
    assert.equal(withPlan.sourceRuns, 1);
    assert.deepEqual(withPlan.outcome.checks, without.outcome.checks);
    assert.equal(withPlan.outcome.decode?.reason, without.outcome.decode?.reason);
    assert.match(
      without.outcome.decode?.reason ?? '',
      /decoded in 2 ranges at once, from 0 s, 6 s$/,
    );
    assert.deepEqual(withPlan.outcome.ssimSegments, without.outcome.ssimSegments);
  });

  it('probes the output again, placed by the source, when the plan’s duration was wrong', async () => {
    const wrong = await verified(30);
    assert.equal(wrong.windows.length, 2);
    assert.equal(wrong.windows[1], '2%10.14');
    assert.ok(
      wrong.outcome.checks.every((c) => c.passed),
      JSON.stringify(wrong.outcome.checks),
    );
    assert.match(wrong.outcome.decode?.reason ?? '', /decoded in 2 ranges at once, from 0 s, 6 s$/);
  });

  it('lists a short source’s packets in its facts probe as the listing of its own does', async () => {
    const probed = await probeFacts(source, { listPackets: true });
    assert.ok(probed.ok);
    const listed = await listVideoPackets(source);
    assert.equal(listed?.length, 300); // the video's packets alone, not the audio's
    assert.deepEqual(probed.packets, listed);
    const plain = await probeFacts(source);
    assert.ok(plain.ok);
    assert.deepEqual(probed.facts, plain.facts);
    assert.equal(listsByPlan({ durationSec: 12 }), true);
    assert.equal(listsByPlan({ durationSec: 121 }), false);
    assert.equal(listsByPlan({}), false);
  });

  it('needs a duration and a split pass, and a cover of every window wanted', () => {
    const x265 = { encoder: 'libx265' };
    assert.deepEqual(plannedOutputWindows({ ...x265, durationSec: 20 }, { decodeRanges: 2 }), [
      '3.5%16.64',
    ]);
    assert.equal(plannedOutputWindows(x265, { decodeRanges: 2 }), null);
    assert.equal(plannedOutputWindows({ ...x265, durationSec: 20 }, { decodeRanges: 1 }), null);
    assert.equal(
      plannedOutputWindows({ encoder: 'hevc_nvenc', durationSec: 20 }, { decodeRanges: 2 }),
      null,
    );
    const read = ['3.5%16.64'];
    const at = (durationSec: number) =>
      outputWindows(x265, { durationSec, video: null }, { decodeRanges: 2 });
    assert.equal(windowsCover(read, at(20)), true);
    assert.equal(windowsCover(read, at(20.4)), true); // a few frames longer: still inside
    assert.equal(windowsCover(read, at(21.5)), false); // ends past 16.64 s
    assert.equal(windowsCover(read, at(17)), false); // starts before 3.5 s
    assert.equal(windowsCover(read, []), false); // a plain probe wanted
    assert.equal(windowsCover(read, ['4%16', '20%30']), false);
  });
});
