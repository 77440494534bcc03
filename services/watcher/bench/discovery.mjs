#!/usr/bin/env node
// Discovery benchmark: a library of N files (default 100,000) through a real watcher process
// into the read model, then a restart of the watcher over the unchanged library (a full
// rescan that must publish nothing), with the watcher's peak RSS. Prints figures; asserts
// nothing. Usage: node services/watcher/bench/discovery.mjs [files] (after the build).
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { connectBus, startNatsServer, EVENT_LOG_STREAM } from '@conform/bus';

const files = Number(process.argv[2] ?? 100_000);
const perDir = 100;
const bin = resolve(import.meta.dirname, '../../cli/dist/src/bin.js');
const dir = await mkdtemp(join(tmpdir(), 'conform-bench-discovery-'));
const library = join(dir, 'library');
const say = (s) => console.log(s);

function conform(args, nodeOptions = '') {
  const child = spawn(process.execPath, [...nodeOptions.split(' ').filter(Boolean), bin, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'info' },
  });
  const waiters = [];
  const seen = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    let j;
    try {
      j = JSON.parse(line);
    } catch {
      return;
    }
    if (process.env.BENCH_DEBUG) console.error(line.slice(0, 200));
    seen.push(j);
    for (const w of waiters) if (j.msg === w.msg) w.resolve(j);
  });
  let peakKb = 0;
  const sampler = setInterval(async () => {
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    peakKb = Math.max(peakKb, hwm);
  }, 200);
  child.once('exit', () => clearInterval(sampler));
  return {
    child,
    peakMb: () => Math.round(peakKb / 1024),
    waitFor: (msg) =>
      new Promise((resolve) => {
        const already = seen.find((j) => j.msg === msg);
        if (already) resolve(already);
        else waiters.push({ msg, resolve });
      }),
    stop: () => new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM'))),
  };
}

try {
  say(`creating ${files} files in ${Math.ceil(files / perDir)} folders under ${library}`);
  for (let d = 0; d * perDir < files; d++) {
    const folder = join(library, `Show ${d}`, 'Season 01');
    await mkdir(folder, { recursive: true });
    await Promise.all(
      Array.from({ length: Math.min(perDir, files - d * perDir) }, (_, i) =>
        writeFile(
          join(folder, `Show ${d} - S01E${String(i).padStart(3, '0')}.mkv`),
          `episode ${d}/${i}`,
        ),
      ),
    );
  }
  const nats = await startNatsServer({ storeDir: join(dir, 'nats') });
  say(`nats-server at ${nats.url}`);
  const bus = await connectBus({ servers: nats.url, name: 'bench' });
  const status = conform([
    'run',
    'status',
    '--nats',
    nats.url,
    '--state-dir',
    join(dir, 'state'),
    '--port',
    '0',
  ]);
  const { url } = await status.waitFor('status server listening');
  const watcherArgs = [
    'run',
    'watcher',
    '--nats',
    nats.url,
    '--library',
    library,
    '--archive',
    join(dir, 'archive'),
    '--stability-window',
    '1000',
  ];

  const t0 = performance.now();
  // e.g. BENCH_WATCHER_NODE_OPTIONS=--max-old-space-size=160 to measure a capped heap.
  const watcherNodeOptions = process.env.BENCH_WATCHER_NODE_OPTIONS ?? '';
  const watcher = conform(watcherArgs, watcherNodeOptions);
  let total = 0;
  while (total < files) {
    await new Promise((r) => setTimeout(r, 250));
    total = (await (await fetch(`${url}/api/summary`)).json()).total ?? 0;
    if (process.env.BENCH_DEBUG) console.error('total', total);
  }
  const discoverySec = (performance.now() - t0) / 1000;
  await watcher.waitFor('library scan settled');
  await watcher.stop();
  const firstPeak = watcher.peakMb();

  const before = (await bus.jsm.streams.info(EVENT_LOG_STREAM)).state.last_seq;
  const t1 = performance.now();
  const again = conform(watcherArgs, watcherNodeOptions);
  await again.waitFor('library scan settled');
  const rescanSec = (performance.now() - t1) / 1000;
  const after = (await bus.jsm.streams.info(EVENT_LOG_STREAM)).state.last_seq;
  await again.stop();

  say('');
  say(`files                                   ${files}`);
  say(`watcher node options                    ${watcherNodeOptions || '(none)'}`);
  say(`discovery into the read model           ${discoverySec.toFixed(1)} s  (goal < 60 s)`);
  say(`restart over the unchanged library      ${rescanSec.toFixed(1)} s  (goal < 15 s)`);
  say(`events published by that rescan         ${after - before}  (goal 0)`);
  say(
    `watcher peak RSS, discovery / rescan    ${firstPeak} MB / ${again.peakMb()} MB  (goal < 300 MB)`,
  );
  await status.stop();
  await bus.close();
  await nats.stop();
} finally {
  await rm(dir, { recursive: true, force: true });
}
