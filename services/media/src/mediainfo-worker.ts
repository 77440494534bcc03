import { parentPort, workerData } from 'node:worker_threads';
import { MediaInfoPool } from './mediainfo-read.js';
import { lowerThisThread, PROBE_NICENESS } from './priority.js';
import type { ProbeReply, ProbeRequest, ProberWorkerData } from './inprocess.js';

// The in-process prober's thread: MediaInfoLib's WebAssembly and the file reads it asks for run
// here, so the main thread (NATS, the projector, the other services of `conform up`) is not
// held up by them and a second core can do the parsing. Paths in, summaries (or why not) out.

// Parsing yields to the main thread (this thread only: Linux keeps nice values per thread).
lowerThisThread(PROBE_NICENESS);
const port = parentPort!;
const pool = new MediaInfoPool((workerData as ProberWorkerData).instances);
port.on('message', (req: ProbeRequest) => {
  void pool
    .read(req.path)
    .then((outcome) => port.postMessage({ id: req.id, outcome } satisfies ProbeReply));
});
