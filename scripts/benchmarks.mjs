// The benchmarks scripts/bench.mjs runs, in order: a name (for --only), the command's arguments
// relative to the repository (the sizes), the same with small sizes (--quick), and the
// document in docs/benchmarks that says what it measures. services/cli/test/benchmarks.test.ts
// checks that each script exists, prints BENCH_RESULT lines and has its document.
export const BENCHMARKS = [
  {
    name: 'discovery',
    argv: ['services/watcher/bench/discovery.mjs', '100000'],
    quick: ['services/watcher/bench/discovery.mjs', '5000'],
    doc: 'discovery.md',
  },
  {
    name: 'discovery-1m',
    argv: ['services/watcher/bench/discovery.mjs', '1m'],
    quick: ['services/watcher/bench/discovery.mjs', '20000', '--nested'],
    doc: 'discovery.md',
  },
  {
    name: 'planning',
    argv: ['services/planner/bench/planning.mjs', '300', '2000'],
    quick: ['services/planner/bench/planning.mjs', '20', '100'],
    doc: 'planning.md',
  },
  {
    name: 'replay',
    argv: ['projections/bench/replay-e2e.mjs', '1000000', '3'],
    quick: ['projections/bench/replay-e2e.mjs', '50000', '1'],
    doc: 'replay.md',
  },
  {
    name: 'replay-component',
    argv: ['projections/bench/replay.mjs', '1000000'],
    quick: ['projections/bench/replay.mjs', '50000'],
    doc: 'replay.md',
  },
  {
    name: 'encoder-overhead',
    argv: ['services/encoder/bench/encoder-overhead.mjs', '20', '2', '2', '5'],
    quick: ['services/encoder/bench/encoder-overhead.mjs', '4', '2', '1', '1'],
    doc: 'encoder.md',
  },
  {
    name: 'router',
    argv: ['services/encoder/bench/router.mjs', '1000'],
    quick: ['services/encoder/bench/router.mjs', '100'],
    doc: 'router.md',
  },
  {
    name: 'e2e',
    // Two 20 s 1080p clips: each libx265 encode takes about a minute on 2 cores, and the
    // benchmark runs them twice (under conform up, then directly).
    argv: ['services/verifier/bench/e2e.mjs', '2', '20', '1080'],
    quick: ['services/verifier/bench/e2e.mjs', '1', '4', '360'],
    doc: 'e2e.md',
  },
  {
    name: 'verify-passes',
    // A component figure: each verifier process on one 20 s 1080p output, three times.
    argv: ['services/verifier/bench/passes.mjs', '20', '1080', '3'],
    quick: ['services/verifier/bench/passes.mjs', '4', '360', '1'],
    doc: 'e2e.md',
  },
  {
    name: 'files-query',
    argv: ['projections/bench/files-query.mjs', '100000', '21'],
    quick: ['projections/bench/files-query.mjs', '10000', '5'],
    doc: 'files-query.md',
  },
  {
    name: 'notify',
    argv: ['services/notify/bench/batching.mjs', '500', '2', '16'],
    quick: ['services/notify/bench/batching.mjs', '50', '0', '16'],
    doc: 'notify.md',
  },
];

/** The 1-minute load average below which a machine counts as quiet (2 cores). */
export const QUIET_LOAD = 1;
/** The longest bench.mjs waits for that before a benchmark (it then runs, its load recorded). */
export const QUIET_WAIT_MS = 180_000;

/**
 * Waits until `load()` is below {@link QUIET_LOAD}, checking every `everyMs`, for at most
 * `maxMs`: the previous benchmark's own load (a 1,000,000-file discovery leaves it at 4) takes
 * a minute or two to decay, and a figure taken in it is not a quiet machine's. Resolves with the
 * milliseconds waited and the load reached.
 */
export async function waitForQuiet({
  load,
  sleep = (ms) => new Promise((r) => setTimeout(r, ms)),
  maxMs = QUIET_WAIT_MS,
  everyMs = 5_000,
}) {
  let waited = 0;
  let now = load();
  while (now >= QUIET_LOAD && waited < maxMs) {
    await sleep(everyMs);
    waited += everyMs;
    now = load();
  }
  return { waitedMs: waited, load: now };
}
