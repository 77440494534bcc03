#!/usr/bin/env node
// Planning throughput (issue 15 goal 3): N small HEVC clips (already compliant, so nothing is
// encoded) in mkv/mp4/mov/m4v through `conform up --library DIR --archive DIR` with no tuning,
// timed until the read model has every file planned; against ffprobe run directly over the same
// files with the same parallelism (one per core, the planner's default). Optionally a second,
// larger library of tiny clips for files per second and the projection to 100,000 files.
// Prints figures and BENCH_RESULT lines; asserts nothing.
//   node services/planner/bench/planning.mjs [clips=300] [tinyFiles=0]
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const clips = Number(process.argv[2] ?? 300);
const tinyFiles = Number(process.argv[3] ?? 0);
const parallelism = availableParallelism();
const bin = resolve(import.meta.dirname, '../../cli/dist/src/bin.js');
const dir = await mkdtemp(join(tmpdir(), 'conform-bench-planning-'));
const say = (s) => console.log(s);
const children = new Set();

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(child);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      children.delete(child);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-500)}`));
    });
  });
}

/** Runs `jobs` with at most `n` at once. */
async function pool(n, jobs) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, jobs.length) }, async () => {
      while (next < jobs.length) await jobs[next++]();
    }),
  );
}

const CONTAINERS = ['mkv', 'mp4', 'mov', 'm4v'];

/**
 * Distinct template clips (container × size × length × audio tracks), copied into `count`
 * files in folders of 50: real encodes for the templates, byte copies for the rest.
 */
async function makeLibrary(name, count, tiny) {
  const templates = join(dir, `${name}-templates`);
  await mkdir(templates, { recursive: true });
  const variants = [];
  for (const ext of CONTAINERS) {
    for (let v = 0; v < (tiny ? 1 : 3); v++) variants.push({ ext, v });
  }
  await pool(
    parallelism,
    variants.map(({ ext, v }) => async () => {
      const size = tiny ? '64x48' : ['320x240', '640x360', '426x240'][v];
      const seconds = tiny ? '0.2' : String(1 + v);
      const tracks = tiny ? 1 : 1 + (v % 2);
      const audio = Array.from({ length: tracks }, (_, i) => [
        '-f',
        'lavfi',
        '-i',
        `sine=frequency=${440 + 110 * i}:sample_rate=48000`,
      ]).flat();
      const maps = [
        '-map',
        '0:v',
        ...Array.from({ length: tracks }, (_, i) => ['-map', `${i + 1}:a`]).flat(),
      ];
      await run('ffmpeg', [
        '-nostdin',
        '-y',
        '-v',
        'error',
        '-f',
        'lavfi',
        '-i',
        `testsrc2=size=${size}:rate=25`,
        ...audio,
        '-t',
        seconds,
        ...maps,
        '-c:v',
        'libx265',
        '-preset',
        'ultrafast',
        '-x265-params',
        'log-level=error',
        ...(ext === 'mkv' ? [] : ['-tag:v', 'hvc1', '-f', 'mp4']),
        '-c:a',
        'aac',
        '-b:a',
        '64k',
        '-metadata:s:a:0',
        'language=eng',
        join(templates, `t${v}.${ext}`),
      ]);
    }),
  );
  const made = await readdir(templates);
  const library = join(dir, name);
  for (let i = 0; i < count; i += 50) {
    const folder = join(library, `Show ${i / 50}`, 'Season 01');
    await mkdir(folder, { recursive: true });
    await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, (_, j) => {
        const t = made[(i + j) % made.length];
        const ext = t.slice(t.lastIndexOf('.'));
        return copyFile(
          join(templates, t),
          join(folder, `E${String(i + j).padStart(6, '0')}${ext}`),
        );
      }),
    );
  }
  await rm(templates, { recursive: true, force: true });
  const files = [];
  for (const show of await readdir(library)) {
    const folder = join(library, show, 'Season 01');
    for (const f of await readdir(folder)) files.push(join(folder, f));
  }
  return { library, files };
}

/** The planner's own ffprobe call, run directly `parallelism` at a time. */
async function ffprobeDirect(files) {
  const t0 = performance.now();
  await pool(
    parallelism,
    files.map(
      (f) => () =>
        run('ffprobe', [
          '-v',
          'error',
          '-print_format',
          'json',
          '-show_format',
          '-show_streams',
          '-show_chapters',
          f,
        ]),
    ),
  );
  return (performance.now() - t0) / 1000;
}

/**
 * `conform up` over the library, default settings: seconds from start until the read model
 * has every file planned (none discovered-only or probed-only), and from the first file in the
 * read model until then (the planning itself, without the watcher's stability window).
 */
async function conformUp(name, library, count) {
  const child = spawn(
    // The program itself, as a shell runs `conform`: its #! line gives Node conform's flags.
    bin,
    [
      'up',
      '--library',
      library,
      '--archive',
      join(dir, `${name}-archive`),
      '--state-dir',
      join(dir, `${name}-state`),
      '--port',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'info' } },
  );
  children.add(child);
  const exited = new Promise((r) => child.once('exit', r)).then(() => children.delete(child));
  const t0 = performance.now();
  const url = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`conform up exited ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (process.env.BENCH_DEBUG) console.error(line.slice(0, 300));
      try {
        const j = JSON.parse(line);
        if (j.msg === 'status server listening') resolve(j.url);
      } catch {
        // not a log line
      }
    });
  });
  let firstSeen = null;
  let counts = {};
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const summary = await (await fetch(`${url}/api/summary`)).json();
    counts = summary.counts ?? {};
    if ((summary.total ?? 0) > 0 && firstSeen === null) firstSeen = performance.now();
    const pending = (counts.discovered ?? 0) + (counts.probed ?? 0);
    if (summary.total === count && pending === 0) break;
  }
  const done = performance.now();
  child.kill('SIGTERM');
  await exited;
  return {
    fromStartSec: (done - t0) / 1000,
    planningSec: (done - (firstSeen ?? t0)) / 1000,
    counts,
  };
}

function result(id, figure, goal, measured, unit, ok) {
  console.log(`BENCH_RESULT ${JSON.stringify({ id, figure, goal, measured, unit, ok })}`);
}
const round = (n, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

try {
  say(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, ${parallelism} cores`,
  );
  say(`making ${clips} HEVC clips (${CONTAINERS.join(', ')}) …`);
  const main = await makeLibrary('library', clips, false);
  const probeSec = await ffprobeDirect(main.files);
  say(`ffprobe directly, ${parallelism} at a time: ${probeSec.toFixed(1)} s`);
  const up = await conformUp('library', main.library, main.files.length);
  say(
    `conform up: every file planned ${up.fromStartSec.toFixed(1)} s after start, ${up.planningSec.toFixed(1)} s after the first file reached the read model`,
  );
  say(`  statuses: ${JSON.stringify(up.counts)}`);
  const ratio = up.planningSec / probeSec;
  say(`ratio (planning / ffprobe directly): ${ratio.toFixed(2)}`);
  result(
    'planning.ratio_vs_ffprobe',
    `planning ${clips} HEVC clips under conform up vs ffprobe directly, ${parallelism} at a time`,
    '<= 1.1',
    round(ratio),
    'x',
    ratio <= 1.1,
  );
  result(
    'planning.from_start_seconds',
    `${clips} clips planned, from conform up's start (stability window included)`,
    '-',
    round(up.fromStartSec, 1),
    's',
    null,
  );
  let filesPerSec = main.files.length / up.planningSec;
  let sizeNote = `${clips} clips`;
  if (tinyFiles > 0) {
    say(`making ${tinyFiles} tiny HEVC clips …`);
    const tiny = await makeLibrary('tiny', tinyFiles, true);
    const tinyProbeSec = await ffprobeDirect(tiny.files);
    const tinyUp = await conformUp('tiny', tiny.library, tiny.files.length);
    filesPerSec = tiny.files.length / tinyUp.planningSec;
    sizeNote = `${tinyFiles} tiny clips`;
    say(
      `tiny: ffprobe directly ${tinyProbeSec.toFixed(1)} s (${(tinyFiles / tinyProbeSec).toFixed(1)} files/s), conform up ${tinyUp.planningSec.toFixed(1)} s`,
    );
    result(
      'planning.tiny_ratio_vs_ffprobe',
      `planning ${tinyFiles} tiny clips vs ffprobe directly`,
      '<= 1.1',
      round(tinyUp.planningSec / tinyProbeSec),
      'x',
      tinyUp.planningSec / tinyProbeSec <= 1.1,
    );
  }
  const projected = 100_000 / filesPerSec / 60;
  say(
    `files/s (${sizeNote}): ${filesPerSec.toFixed(1)}; 100,000 files projected: ${projected.toFixed(1)} min`,
  );
  result(
    'planning.files_per_s',
    `files planned per second under conform up (${sizeNote})`,
    '-',
    round(filesPerSec, 1),
    'files/s',
    null,
  );
  result(
    'planning.100k_projected_minutes',
    '100,000-file plan, projected from files/s',
    '< 10 min',
    round(projected, 1),
    'min',
    projected < 10,
  );
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  for (const child of children) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
}
