#!/usr/bin/env node
// Replay end to end, as a user runs it: fills the event log of a fresh state directory with N
// realistic events (default 1,000,000; see events.mjs) through its own embedded nats-server,
// stops that server, then times `conform replay --state-dir DIR` (the CLI: it starts the
// embedded nats-server on the store, reads the whole log over NATS, rebuilds the read models and
// swaps them in). Then, separately, the projector's live catch-up: the projector as
// `conform up` starts it, against a fresh read-model file and the stream already holding the N
// events, timed until it has applied the last one. Each of the two is run `runs` times (default
// 3) and its median reported: on two cores shared by three busy threads and nats-server, one
// build's runs spread by a fifth from the scheduling alone (docs/benchmarks/replay.md). Prints
// events/s, wall time and peak RSS.
// Usage: node projections/bench/replay-e2e.mjs [events] [runs]
import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { headers } from '@nats-io/transport-node';
import {
  connectBus,
  EVENT_LOG_STREAM,
  provisionEventLog,
  silentLogger,
  startEmbeddedNats,
} from '@conform/bus';
import { openReadModels, startProjector } from '../dist/src/index.js';
import { benchResult, generatePayloads } from './events.mjs';

const total = Number(process.argv[2] ?? 1_000_000);
const runs = Math.max(1, Number(process.argv[3] ?? 3));
const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '../../services/cli/dist/src/bin.js');
const GOAL = 100_000;

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** The element with the median key (of an even count, the upper middle: the slower run). */
const median = (items, key) => [...items].sort((a, b) => key(a) - key(b))[items.length >> 1];

const stateDir = await mkdtemp(join(tmpdir(), 'conform-bench-replay-'));
try {
  // 1. Fill: core publishes (no ack per message; the stream stores them) with the headers the
  // publisher sets, then wait until the stream holds them all.
  const generated = process.hrtime.bigint();
  const payloads = generatePayloads(total);
  const fillStart = process.hrtime.bigint();
  let server = await startEmbeddedNats({ stateDir, log: silentLogger() });
  let bus = await connectBus({ servers: server.url, name: 'bench-fill' });
  await provisionEventLog(bus.jsm);
  for (let i = 0; i < payloads.count; i++) {
    const [id, type, correlationId, causationId, producer] = payloads.meta(i);
    const h = headers();
    h.set('Conform-Type', type);
    h.set('Conform-Version', '1');
    h.set('Conform-Correlation-Id', correlationId);
    if (causationId) h.set('Conform-Causation-Id', causationId);
    h.set('Conform-Producer', producer);
    h.set('Nats-Msg-Id', id);
    bus.nc.publish(payloads.subject(i), payloads.get(i), { headers: h });
    if (i % 20_000 === 19_999) await bus.nc.flush();
  }
  await bus.nc.flush();
  let stored = 0;
  for (let still = 0; stored < payloads.count && still < 100;) {
    const info = await bus.jsm.streams.info(EVENT_LOG_STREAM);
    still = info.state.messages === stored ? still + 1 : 0;
    stored = info.state.messages;
    if (stored < payloads.count) await new Promise((r) => setTimeout(r, 100));
  }
  if (stored < payloads.count) {
    throw new Error(`the stream stored ${stored} of ${payloads.count} events; cannot measure`);
  }
  await bus.close();
  await server.stop();
  const fillSeconds = Number(process.hrtime.bigint() - fillStart) / 1e9;
  console.log(
    `filled ${stateDir} with ${payloads.count} events (${(payloads.bytes / 1e6).toFixed(0)} MB of ` +
      `JSON; generated in ${(Number(fillStart - generated) / 1e9).toFixed(1)} s, stored in ` +
      `${fillSeconds.toFixed(1)} s)`,
  );

  // 2. `conform replay` as a user runs it: no flags but the state directory. The status port is
  // a free one so a conform running elsewhere on this machine is not mistaken for ours.
  const runReplay = async (env) => {
    const rssFile = join(stateDir, 'replay.rss');
    const start = process.hrtime.bigint();
    const run = await execa(
      '/usr/bin/time',
      // The program itself, as a shell runs `conform`: its #! line gives Node conform's flags.
      ['-f', '%M', '-o', rssFile, cli, 'replay', '--state-dir', stateDir],
      { env: { CONFORM_PORT: String(await freePort()), NATS_URL: '', ...env }, reject: false },
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (run.exitCode !== 0) {
      throw new Error(`conform replay exited ${run.exitCode}: ${run.stderr.slice(-2000)}`);
    }
    const rssMb = Math.round(Number((await readFile(rssFile, 'utf8')).trim()) / 1024);
    return { seconds, rssMb, rate: Math.round(payloads.count / seconds), stdout: run.stdout };
  };
  const replays = [];
  for (let run = 1; run <= runs; run++) {
    const replay = await runReplay({});
    console.log(replay.stdout.trim());
    console.log(
      `conform replay ${run}/${runs}: ${payloads.count} events in ${replay.seconds.toFixed(2)} s wall ` +
        `(process start to exit, embedded nats-server start included): ${replay.rate} events/s, ` +
        `peak RSS ${replay.rssMb} MB`,
    );
    replays.push(replay);
  }
  // The run with the median time gives every replay figure.
  const replay = median(replays, (r) => r.seconds);
  const replaySeconds = replay.seconds;
  const replayRate = replay.rate;
  const replayRssMb = replay.rssMb;

  // 3. The projector's live catch-up, started as `conform up` starts it, on a fresh file.
  const catchUps = [];
  for (let run = 1; run <= runs; run++) {
    server = await startEmbeddedNats({ stateDir, log: silentLogger() });
    bus = await connectBus({ servers: server.url, name: 'bench-catchup' });
    const file = join(stateDir, `catchup-${run}.sqlite`);
    const readModels = openReadModels(file);
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 100);
    const catchStart = process.hrtime.bigint();
    const projector = await startProjector(
      { bus, publisher: null, log: silentLogger(), eventLog: {} },
      { readModels },
    );
    await projector.waitForSequence(payloads.count, 3_600_000);
    const seconds = Number(process.hrtime.bigint() - catchStart) / 1e9;
    clearInterval(sampler);
    await projector.stop();
    const files = readModels.sqlite.prepare('select count(*) n from files').get().n;
    await readModels.close();
    await bus.close();
    await server.stop();
    for (const suffix of ['', '-wal', '-shm']) await rm(file + suffix, { force: true });
    const rate = Math.round(payloads.count / seconds);
    console.log(
      `projector catch-up ${run}/${runs}: ${payloads.count} events (${files} files) in ` +
        `${seconds.toFixed(2)} s: ${rate} events/s, RSS grew by ` +
        `${Math.round((peakRss - rssBefore) / 1e6)} MB`,
    );
    catchUps.push({ seconds, rate });
  }
  const catchRate = median(catchUps, (c) => c.seconds).rate;
  console.log(
    `medians of ${runs}: conform replay ${replayRate} events/s (${replays.map((r) => r.rate).join(', ')}), ` +
      `catch-up ${catchRate} events/s (${catchUps.map((c) => c.rate).join(', ')})`,
  );

  const n = payloads.count.toLocaleString('en');
  const of = runs > 1 ? `, median of ${runs}` : '';
  benchResult({
    id: 'replay.e2e.events_per_s',
    figure: `conform replay of a ${n}-event log, end to end (NATS included${of})`,
    goal: '>= 100,000 events/s',
    measured: replayRate,
    unit: 'events/s',
    ok: replayRate >= GOAL,
  });
  benchResult({
    id: 'replay.e2e.seconds',
    figure: `conform replay of a ${n}-event log, wall time`,
    goal: '-',
    measured: Math.round(replaySeconds * 100) / 100,
    unit: 's',
    ok: null,
  });
  benchResult({
    id: 'replay.e2e.peak_rss_mb',
    figure: `conform replay of a ${n}-event log, peak RSS`,
    goal: '-',
    measured: replayRssMb,
    unit: 'MB',
    ok: null,
  });
  benchResult({
    id: 'replay.catchup.events_per_s',
    figure: `projector catch-up on a ${n}-event log (fresh read models${of})`,
    goal: '>= 100,000 events/s',
    measured: catchRate,
    unit: 'events/s',
    ok: catchRate >= GOAL,
  });
} finally {
  if (process.env.BENCH_KEEP) console.log(`kept ${stateDir}`);
  else await rm(stateDir, { recursive: true, force: true });
}
