import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  connectBus,
  EVENT_LOG_STREAM,
  startNatsServer,
  type Bus,
  type NatsServerHandle,
} from '@conform/bus';
import { runConform, upArgs } from './run-conform.js';

// An unchanged restart of `conform up` over a 1,000,000-file library failed ("conform could
// not start: timeout"): nats-server 2.9 answers some requests by matching every subject of the
// event log inside the request, in the read loop of conform's one connection — seconds each at
// millions of subjects, so the requests behind them timed out. Such a log takes minutes to
// build, so this test checks the cause instead, on a small one: it records every JetStream API
// request of a restart (a second connection subscribed to `$JS.API.>` sees them all) and
// asserts none of them is of a kind whose cost grows with the log's subjects.

let dir: string;
let nats: NatsServerHandle;
let spy: Bus;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-e2e-restart-requests-'));
  nats = await startNatsServer({ storeDir: join(dir, 'nats') });
  spy = await connectBus({ servers: nats.url, name: 'spy' });
});
after(async () => {
  await spy?.close();
  await nats?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface ApiRequest {
  subject: string;
  body: Record<string, unknown>;
}

/** Why a request's server-side cost grows with the log's subject count, or null. */
function subjectScan(request: ApiRequest, lastSeq: number): string | null {
  const { subject, body } = request;
  if (subject === `$JS.API.STREAM.INFO.${EVENT_LOG_STREAM}` && body.subjects_filter) {
    return `stream info with subjects_filter ${String(body.subjects_filter)}`;
  }
  if (!subject.startsWith(`$JS.API.CONSUMER.CREATE.${EVENT_LOG_STREAM}`)) return null;
  const config = (body.config ?? {}) as Record<string, unknown>;
  const filter = String(config.filter_subject ?? '');
  if (config.deliver_policy === 'last_per_subject') {
    return `a last_per_subject consumer on ${filter || '>'}`;
  }
  // A wildcard filter's pending count is computed by matching every subject from the start
  // position on: costly only when that position is inside the log.
  const wildcard = /(^|\.)[*>](\.|$)/.test(filter) && filter !== '>';
  const from = config.deliver_policy === 'by_start_sequence' ? Number(config.opt_start_seq) : 1;
  const inLog =
    config.deliver_policy !== 'new' && config.deliver_policy !== 'last' && from <= lastSeq;
  return wildcard && inLog ? `a consumer on ${filter} from sequence ${from}` : null;
}

describe('an unchanged restart of conform up', () => {
  it(
    'makes no JetStream request whose cost grows with the event log',
    { timeout: 120_000 },
    async () => {
      const root = join(dir, 'up');
      const folder = join(root, 'library', 'Show', 'Season 01');
      await mkdir(folder, { recursive: true });
      const old = new Date(Date.now() - 3_600_000);
      for (let i = 0; i < 5; i++) {
        const file = join(folder, `Episode ${i}.mkv`);
        await writeFile(file, `not media ${i}`);
        await utimes(file, old, old);
      }
      const args = [...upArgs(root), '--nats', nats.url];

      const first = runConform(args);
      try {
        await first.waitForLog('all services started', 60_000);
        await first.waitForLog('library scan settled', 60_000);
        // The first start reads the log for both checks and records that it did.
        await first.waitForLog('re-planned files whose decision the policy changed', 60_000);
        await first.waitForLog('work queue checked against the log', 60_000);
        first.child.kill('SIGTERM');
        assert.equal(await first.exited, 0, first.stderr());
      } finally {
        first.kill();
      }
      const { state } = await spy.jsm.streams.info(EVENT_LOG_STREAM);
      assert.ok(state.last_seq >= 5, 'the first start recorded the library');

      const requests: ApiRequest[] = [];
      const sub = spy.nc.subscribe('$JS.API.>', {
        callback: (_err, msg) => {
          let body: Record<string, unknown> = {};
          try {
            body = msg.data.length ? (msg.json() as Record<string, unknown>) : {};
          } catch {
            // not JSON: nothing to judge
          }
          requests.push({ subject: msg.subject, body });
        },
      });
      await spy.nc.flush();
      const again = runConform(args);
      try {
        await again.waitForLog('all services started', 60_000);
        await again.waitForLog('library scan settled', 60_000);
        // Same policies, same work stream: neither check reads the log again.
        await again.waitForLog(
          'policies unchanged since the last re-plan pass: nothing to re-plan',
          60_000,
        );
        await again.waitForLog('work queue unchanged since its last check against the log', 60_000);
        again.child.kill('SIGTERM');
        assert.equal(await again.exited, 0, again.stderr());
      } finally {
        again.kill();
        sub.unsubscribe();
      }
      // The restart did read the log (the watcher's catalogue, the pause state).
      assert.ok(
        requests.some((r) => r.subject.startsWith(`$JS.API.CONSUMER.CREATE.${EVENT_LOG_STREAM}`)),
        `no consumer was created on the log: ${requests.map((r) => r.subject).join(', ')}`,
      );
      const scans = requests
        .map((r) => subjectScan(r, state.last_seq))
        .filter((why): why is string => why !== null);
      assert.deepEqual(scans, []);
    },
  );
});
