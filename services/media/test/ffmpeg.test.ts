import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateClip,
  isHdr10,
  MediaUnreadableError,
  parseEncoderList,
  probeVideoColour,
  SAMPLE_MASTER_DISPLAY,
  detectHevcEncoder,
  FfmpegAbortedError,
  FfmpegFailedError,
  ffmpegCommand,
  parseProgressBlock,
  processesMentioning,
  ProgressLineReader,
  runFfmpeg,
  threadNiceness,
  threadPolicy,
  SCHED_IDLE,
  idleSchedulingWorks,
  ToolMissingError,
  type FfmpegProgress,
} from '../src/index.js';

describe('parseProgressBlock', () => {
  it('given a mid-encode block with a known duration, reports percent, fps and speed', () => {
    const p = parseProgressBlock(
      {
        out_time_us: '1000000',
        fps: '48.5',
        speed: '2.5x',
        total_size: '65536',
        progress: 'continue',
      },
      4,
    );
    assert.deepEqual(p, { percent: 25, fps: 48.5, speed: 2.5, outTimeSec: 1, outBytes: 65536 });
  });

  it('given N/A values before the first frame, reports nulls and zero time', () => {
    const p = parseProgressBlock({ out_time_us: 'N/A', fps: 'N/A', speed: 'N/A' }, null);
    assert.deepEqual(p, { percent: null, fps: null, speed: null, outTimeSec: 0, outBytes: null });
  });

  it('given the end block, reports 100 % even if the output ran a little short', () => {
    const p = parseProgressBlock({ out_time_ms: '1980000', progress: 'end' }, 2);
    assert.equal(p.percent, 100);
    assert.equal(p.outTimeSec, 1.98);
  });
});

describe('ProgressLineReader', () => {
  it('reassembles blocks split across chunks', () => {
    const blocks: Record<string, string>[] = [];
    const reader = new ProgressLineReader((b) => blocks.push(b));
    reader.push('frame=1\nout_time_us=40');
    reader.push('000\nprogress=cont');
    reader.push('inue\nframe=2\nprogress=end\n');
    assert.deepEqual(blocks, [
      { frame: '1', out_time_us: '40000', progress: 'continue' },
      { frame: '2', progress: 'end' },
    ]);
  });
});

describe('runFfmpeg', () => {
  it('reports progress up to 100 % for a real encode', async () => {
    const reports: FfmpegProgress[] = [];
    await runFfmpeg(
      ['-nostdin', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:duration=1', '-f', 'null', '-'],
      { durationSec: 1, onProgress: (p) => reports.push(p) },
    );
    assert.ok(reports.length >= 1);
    assert.equal(reports.at(-1)?.percent, 100);
    assert.ok((reports.at(-1)?.outTimeSec ?? 0) > 0.9);
  });

  it('rejects with the exit code and the stderr lines that explain the failure', async () => {
    const err = await runFfmpeg([
      '-nostdin',
      '-i',
      '/nonexistent/input.mkv',
      '-f',
      'null',
      '-',
    ]).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof FfmpegFailedError);
    assert.equal(err.code, 'FFMPEG_FAILED');
    assert.notEqual(err.exitCode, 0);
    assert.ok(err.stderrTail.some((l) => l.includes('No such file or directory')));
    assert.match(err.message, /No such file or directory/);
  });

  it('kills ffmpeg when aborted, and settles only after it has exited', async () => {
    // A unique marker in the filter graph lets /proc tell this ffmpeg from any other.
    const marker = `conform-abort-${randomUUID()}`;
    const abort = new AbortController();
    const run = runFfmpeg(
      [
        '-nostdin',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=320x240:duration=600',
        '-metadata',
        `comment=${marker}`,
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-f',
        'null',
        '-',
      ],
      { signal: abort.signal },
    );
    let settled = false;
    run.catch(() => undefined).finally(() => (settled = true));
    while (!settled && (await processesMentioning(marker)).length === 0) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(settled, false, 'ffmpeg was running when it was aborted');
    abort.abort(new Error('test stops it'));
    await assert.rejects(run, FfmpegAbortedError);
    assert.deepEqual(await processesMentioning(marker), []);
  });

  it('runs ffmpeg, every thread it starts and its session autogroup at the niceness asked for', async () => {
    const marker = `conform-nice-${randomUUID()}`;
    const abort = new AbortController();
    const run = runFfmpeg(
      [
        '-nostdin',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=640x360:duration=600',
        '-metadata',
        `comment=${marker}`,
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-threads',
        '2',
        '-f',
        'null',
        '-',
      ],
      { signal: abort.signal, niceness: 7 },
    );
    run.catch(() => undefined);
    let pids: number[] = [];
    // Wait until the encoder's threads exist: they are what must inherit the niceness.
    let threads = new Map<number, number>();
    while (threads.size < 3) {
      pids = await processesMentioning(marker);
      if (pids.length === 1) threads = await threadNiceness(pids[0]!).catch(() => new Map());
      await new Promise((r) => setTimeout(r, 20));
    }
    // The process is ffmpeg itself (nice(1) exec-ed it), so the abort kills the encoder.
    const cmdline = await readFile(`/proc/${pids[0]}/cmdline`, 'utf8');
    assert.equal(cmdline.split('\0')[0], 'ffmpeg');
    const nices = [...threads.values()];
    // ffmpeg's session is weighed as a whole against ours (autogroup scheduling), so its
    // autogroup is niced too; a kernel without autogroups has no such file, and ours has it.
    const ours = await readFile('/proc/self/autogroup', 'utf8').catch(() => null);
    const its = await readFile(`/proc/${pids[0]}/autogroup`, 'utf8').catch(() => null);
    abort.abort(new Error('test stops it'));
    await assert.rejects(run, FfmpegAbortedError);
    assert.deepEqual(new Set(nices), new Set([7]), `thread nice values ${nices.join(',')}`);
    assert.equal(its === null, ours === null, 'an autogroup file where ours has one');
    if (ours !== null) {
      assert.match(its ?? '', /\snice 7\s*$/, `its autogroup: ${its ?? ''}`);
      assert.notEqual(its?.split(' ')[0], ours.split(' ')[0], 'a session of its own');
    }
    assert.deepEqual(await processesMentioning(marker), []);
  });

  it('runs ffmpeg and every thread it starts under SCHED_IDLE as well, when asked for and it works here', async () => {
    // This machine (Linux, util-linux's chrt) can: the test would hide a broken check otherwise.
    assert.equal(await idleSchedulingWorks(), true);
    const marker = `conform-idle-${randomUUID()}`;
    const abort = new AbortController();
    const run = runFfmpeg(
      [
        ...['-nostdin', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:duration=600'],
        ...['-metadata', `comment=${marker}`, '-c:v', 'libx264', '-preset', 'ultrafast'],
        ...['-threads', '2', '-f', 'null', '-'],
      ],
      { signal: abort.signal, niceness: 19, idle: true },
    );
    run.catch(() => undefined);
    let pid: number | undefined;
    let policies = new Map<number, number>();
    while (policies.size < 3) {
      [pid] = await processesMentioning(marker);
      if (pid !== undefined) policies = await threadPolicy(pid).catch(() => new Map());
      await new Promise((r) => setTimeout(r, 20));
    }
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    const nices = [...(await threadNiceness(pid!)).values()];
    abort.abort(new Error('test stops it'));
    await assert.rejects(run, FfmpegAbortedError);
    // chrt and nice exec-ed ffmpeg: the process is the encoder itself, which the abort kills.
    assert.equal(cmdline.split('\0')[0], 'ffmpeg');
    assert.deepEqual(new Set(policies.values()), new Set([SCHED_IDLE]), 'every thread');
    assert.deepEqual(new Set(nices), new Set([19]));
    assert.deepEqual(await processesMentioning(marker), []);
  });

  it('names ffmpeg, not chrt, when the program given is missing under idle scheduling', async () => {
    const err = await runFfmpeg(['-version'], {
      ffmpegPath: '/nonexistent/ffmpeg',
      niceness: 19,
      idle: true,
    }).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ToolMissingError);
    assert.equal(err.tool, '/nonexistent/ffmpeg');
  });

  it('names ffmpeg, not nice, when the program given is missing', async () => {
    const err = await runFfmpeg(['-version'], {
      ffmpegPath: '/nonexistent/ffmpeg',
      niceness: 5,
    }).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ToolMissingError);
    assert.equal(err.tool, '/nonexistent/ffmpeg');
  });

  it('rejects at once when the signal is already aborted', async () => {
    await assert.rejects(
      runFfmpeg(['-version'], { signal: AbortSignal.abort() }),
      FfmpegAbortedError,
    );
  });
});

describe('ffmpegCommand', () => {
  it('is ffmpeg with the progress flags, wrapped in nice(1) only for a niceness above 0', () => {
    assert.deepEqual(ffmpegCommand(['-i', 'a.mkv']), {
      file: 'ffmpeg',
      args: ['-progress', 'pipe:1', '-nostats', '-i', 'a.mkv'],
    });
    assert.deepEqual(ffmpegCommand(['-i', 'a.mkv'], { niceness: 0, ffmpegPath: '/opt/ff' }), {
      file: '/opt/ff',
      args: ['-progress', 'pipe:1', '-nostats', '-i', 'a.mkv'],
    });
    assert.deepEqual(ffmpegCommand(['-i', 'a.mkv'], { niceness: 10 }), {
      file: 'nice',
      args: ['-n', '10', 'ffmpeg', '-progress', 'pipe:1', '-nostats', '-i', 'a.mkv'],
    });
  });
  it('puts chrt(1)’s SCHED_IDLE before nice(1) when asked for idle scheduling', () => {
    const progress = ['-progress', 'pipe:1', '-nostats', '-i', 'a.mkv'];
    assert.deepEqual(ffmpegCommand(['-i', 'a.mkv'], { niceness: 19, idle: true }), {
      file: 'chrt',
      args: ['--idle', '0', 'nice', '-n', '19', 'ffmpeg', ...progress],
    });
    assert.deepEqual(ffmpegCommand(['-i', 'a.mkv'], { idle: true, ffmpegPath: '/opt/ff' }), {
      file: 'chrt',
      args: ['--idle', '0', '/opt/ff', ...progress],
    });
  });
});

describe('detectHevcEncoder', () => {
  it('chooses an encoder and explains why (libx265 with the NVENC error on a GPU-less box)', async () => {
    const choice = await detectHevcEncoder();
    if (choice.encoder === 'libx265') {
      assert.match(choice.reason, /^hevc_nvenc trial encode failed: \S/);
      assert.doesNotMatch(choice.reason, /@ 0x/);
    } else {
      assert.equal(choice.encoder, 'hevc_nvenc');
      assert.match(choice.reason, /succeeded/);
    }
  });
});

describe('parseEncoderList', () => {
  it('reads video encoder names below the legend, ignoring audio and the legend itself', () => {
    const text = [
      'Encoders:',
      ' V..... = Video',
      ' ------',
      ' V....D libx265              libx265 H.265 / HEVC (codec hevc)',
      ' V....D hevc_nvenc           NVIDIA NVENC hevc encoder (codec hevc)',
      ' A....D aac                  AAC (Advanced Audio Coding)',
    ].join('\n');
    assert.deepEqual([...parseEncoderList(text)], ['libx265', 'hevc_nvenc']);
  });
});

describe('probeVideoColour', () => {
  it('reads HDR10 tags and mastering metadata from a real 10-bit clip, and SDR as such', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conform-colour-'));
    try {
      await generateClip({ path: join(dir, 'hdr.mkv'), durationSec: 1, hdr10: true });
      const hdr = await probeVideoColour(join(dir, 'hdr.mkv'));
      assert.equal(isHdr10(hdr), true);
      assert.equal(hdr.bitDepth, 10);
      assert.equal(hdr.masterDisplay, SAMPLE_MASTER_DISPLAY);
      assert.equal(hdr.maxCll, '1000,400');
      await generateClip({ path: join(dir, 'sdr.mp4'), durationSec: 1 });
      const sdr = await probeVideoColour(join(dir, 'sdr.mp4'));
      assert.equal(isHdr10(sdr), false);
      assert.equal(sdr.bitDepth, 8);
      await writeFile(join(dir, 'junk.mkv'), 'not media');
      await assert.rejects(probeVideoColour(join(dir, 'junk.mkv')), MediaUnreadableError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
