// Realistic event logs for the replay benchmarks: per file, the lifecycle the pipeline
// publishes (discovered → probed → planned, and for a share of files encode → verify → replace,
// failures, unreadable files, a re-discovery after a change, the odd dead letter), built with
// the contracts' `wrap` over `sampleData` with each file's own id, path and sizes, and checked
// against the schemas once per lifecycle shape.
import { fileIdFor, sampleData, subjectFor, validateEvent, wrap } from '@conform/contracts';

const library = '/media/movies';

/** Lifecycles and how many files out of 100 follow each. */
const lifecycles = [
  [55, ['file.discovered', 'file.probed', 'file.planned:compliant']],
  [
    25,
    [
      'file.discovered',
      'file.probed',
      'file.planned:encode',
      'encode.started',
      'encode.completed',
      'verify.passed',
      'file.replaced',
      'original.deleted',
    ],
  ],
  [
    6,
    [
      'file.discovered',
      'file.probed',
      'file.planned:encode',
      'encode.started',
      'encode.completed',
      'verify.failed',
      'file.kept',
    ],
  ],
  [
    5,
    [
      'file.discovered',
      'file.probed',
      'file.planned:encode',
      'encode.started',
      'encode.failed',
      'message.deadlettered',
    ],
  ],
  [4, ['file.discovered', 'file.unreadable']],
  [5, ['file.discovered', 'file.probed', 'file.planned:skip', 'file.changed', 'file.probed']],
];
const byPercent = lifecycles.flatMap(([share, steps]) => Array(share).fill(steps));

function dataFor(step, n, path) {
  const [type, decision] = step.split(':');
  const source = { size: 1_000_000 + n * 7, mtimeMs: 1_700_000_000_000 + n };
  const base = structuredClone(sampleData[type]);
  if ('path' in base) base.path = path;
  if ('library' in base) base.library = library;
  if ('source' in base) base.source = source;
  if ('relativePath' in base) base.relativePath = path.slice(library.length + 1);
  if ('size' in base && 'mtimeMs' in base) Object.assign(base, source);
  if (type === 'file.planned') {
    base.decision = decision;
    if (decision !== 'encode') {
      base.target = null;
      base.estimatedOutputBytes = null;
      base.reasons = [decision === 'skip' ? 'already hevc at a lower bitrate' : 'meets the policy'];
    }
  }
  if (type === 'file.replaced') base.newPath = path.replace(/\.mp4$/, '.mkv');
  // The encoder passes the plan's duration on (encode/outcome.ts).
  if (type === 'encode.completed') base.durationSec = sampleData['file.planned'].durationSec;
  if (type === 'message.deadlettered') base.subject = `conform.evt.file.planned.f${n}`;
  return { type, data: base };
}

/**
 * Calls `emit(subject, json, event)` for about `total` events (whole lifecycles, cut at
 * `total`), in the order the pipeline would publish them file by file.
 */
export function generateEvents(total, emit) {
  let count = 0;
  const t0 = Date.UTC(2026, 10, 1);
  const checked = new Set();
  for (let n = 0; count < total; n++) {
    const steps = byPercent[(n * 37) % 100];
    const relative = `Show ${n % 500}/Season ${n % 7}/Episode ${n}.mp4`;
    const path = `${library}/${relative}`;
    const fileId = fileIdFor(library, relative);
    let causation = null;
    for (let s = 0; s < steps.length && count < total; s++) {
      const event = dataFor(steps[s], n, path);
      const envelope = wrap(event, {
        fileId,
        producer: 'bench',
        time: new Date(t0 + count * 10),
        causation,
        discriminator: `${n}:${s}`,
      });
      // One schema check per lifecycle shape: the rest differ only in ids, paths and sizes.
      if (!checked.has(steps[s])) {
        const result = validateEvent(envelope);
        if (!result.ok) throw new Error(`bench event ${steps[s]} is invalid: ${result.error}`);
        checked.add(steps[s]);
      }
      causation = envelope;
      emit(subjectFor(envelope.type, fileId), JSON.stringify(envelope), envelope);
      count++;
    }
  }
  return count;
}

/**
 * `total` events as JSON bytes in one buffer (so a million of them are not a million objects
 * for the garbage collector): `get(i)` is the i-th payload, `subject(i)` its subject,
 * `event(i)` its envelope's headers' fields.
 */
export function generatePayloads(total) {
  const chunks = [];
  const subjects = [];
  const meta = [];
  const offsets = new Float64Array(total + 1);
  let bytes = 0;
  let i = 0;
  generateEvents(total, (subject, json, e) => {
    const b = Buffer.from(json);
    chunks.push(b);
    subjects.push(subject);
    meta.push([e.id, e.type, e.correlationId, e.causationId, e.producer]);
    offsets[i++] = bytes;
    bytes += b.length;
  });
  offsets[i] = bytes;
  const all = Buffer.concat(chunks, bytes);
  return {
    count: i,
    bytes,
    get: (k) => all.subarray(offsets[k], offsets[k + 1]),
    subject: (k) => subjects[k],
    meta: (k) => meta[k],
  };
}

/** Peak resident memory of this process so far, in MB. */
export function peakRssMb() {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** Prints one result line of the benchmark protocol (docs/benchmarks/README.md). */
export function benchResult(result) {
  console.log(`BENCH_RESULT ${JSON.stringify(result)}`);
}
