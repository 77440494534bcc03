// How batching cuts requests: N swaps published at once (10 episodes per season folder) reach a
// Jellyfin and a Plex server (real HTTP servers on loopback) through notify on a real
// nats-server. Prints one JSON line: requests each server received and the seconds until every
// swap was recorded as notify.sent by both. Run after a build:
//   node services/notify/bench/batching.mjs [swaps] [batchSeconds] [batchMax]
import { createServer } from 'node:http';
import { EventPublisher, eventually, silentLogger, startTestBus } from '@conform/bus';
import { sampleData, subjectFilterForType } from '@conform/contracts';
import { eventsOn, startNotify } from '@conform/notify';

const swaps = Number(process.argv[2] ?? 500);
const batchSeconds = Number(process.argv[3] ?? 2);
const batchMax = Number(process.argv[4] ?? 16);

const counts = { jellyfin: 0, plex: 0 };
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.url === '/Library/Media/Updated') counts.jellyfin++;
    if (req.url?.startsWith('/library/sections/1/refresh')) counts.plex++;
    if (req.url === '/library/sections') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          MediaContainer: { Directory: [{ key: '1', Location: [{ path: '/media' }] }] },
        }),
      );
      return;
    }
    res.writeHead(req.method === 'POST' ? 204 : 200).end();
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}`;

const t = await startTestBus('notify-bench');
const publisher = new EventPublisher(t.bus.js, { producer: 'bench' });
const notify = await startNotify(
  { bus: t.bus, publisher, log: silentLogger(), eventLog: { maxBytes: 256 * 1024 * 1024 } },
  {
    env: { K: 'k' },
    integrations: {
      timeoutMs: 10_000,
      batchWindowMs: batchSeconds * 1000,
      batchMax,
      mediaServers: [
        { name: 'jf', kind: 'jellyfin', url, apiKeyEnv: 'K', pathMap: [] },
        { name: 'plex', kind: 'plex', url, apiKeyEnv: 'K', pathMap: [] },
      ],
      arr: [],
      notifications: [],
      summaryAt: null,
      pauseWhilePlaying: null,
    },
  },
);
const started = Date.now();
await Promise.all(
  Array.from({ length: swaps }, (_, i) => {
    const path = `/media/tv/Show ${Math.floor(i / 100)}/Season ${Math.floor(i / 10) % 10}/e${i}`;
    return publisher.emit(
      {
        type: 'file.replaced',
        data: {
          ...sampleData['file.replaced'],
          library: '/media',
          path: `${path}.avi`,
          newPath: `${path}.mkv`,
        },
      },
      { fileId: `fbench${i}` },
    );
  }),
);
await eventually(
  async () => (await eventsOn(t.bus, subjectFilterForType('notify.sent'))).length === 2 * swaps,
  { timeoutMs: 600_000, intervalMs: 500, what: 'every swap told to both servers' },
);
const seconds = (Date.now() - started) / 1000;
console.log(
  JSON.stringify({
    swaps,
    batchSeconds,
    batchMax,
    folders: Math.ceil(swaps / 10),
    jellyfinRequests: counts.jellyfin,
    plexRefreshes: counts.plex,
    seconds: Number(seconds.toFixed(1)),
    swapsPerSecond: Number((swaps / seconds).toFixed(1)),
  }),
);
// Lines for scripts/bench.mjs: requests per swap (the goal: one request per batch, not per file).
const jellyfinPerSwap = counts.jellyfin / swaps;
console.log(
  `BENCH_RESULT ${JSON.stringify({
    id: 'notify.jellyfin_requests_per_swap',
    figure: `Jellyfin requests per swap (${swaps} swaps, batchMax ${batchMax})`,
    goal: `<= 1/${batchMax} + 0.02`,
    measured: Number(jellyfinPerSwap.toFixed(3)),
    unit: 'requests',
    ok: jellyfinPerSwap <= 1 / batchMax + 0.02,
  })}`,
);
console.log(
  `BENCH_RESULT ${JSON.stringify({
    id: 'notify.swaps_per_s',
    figure: `swaps told to Jellyfin and Plex per second (${swaps} at once)`,
    goal: '-',
    measured: Number((swaps / seconds).toFixed(1)),
    unit: 'swaps/s',
    ok: null,
  })}`,
);
await notify.stop();
await t.cleanup();
server.close();
