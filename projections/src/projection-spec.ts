import assert from 'node:assert/strict';
import type { EventEnvelope } from '@conform/contracts';
import { applyBatch, type ApplyOptions, type PositionedEvent } from './checkpoint.js';
import { openReadModels, type ReadModels } from './read-models.js';

/** What `when` leads to: a check on the read models, a query's result, or an error. */
export interface ProjectionThen {
  /** Runs `check` on the read models the events were folded into. */
  then(check: (readModels: ReadModels) => unknown): Promise<void>;
  /** The query's result on those read models deep-equals `expected`. */
  thenQuery<T>(query: (readModels: ReadModels) => T | Promise<T>, expected: T): Promise<void>;
  /** Folding the `when` events throws (the batch rolls back); optionally matching `expected`. */
  thenThrows(expected?: RegExp | ((err: unknown) => boolean)): Promise<void>;
}

/**
 * The one way read models are specified: `given(past events).when(new events).then(rows or a
 * query's result)`, each on a fresh in-memory database (emmett's projection specifications are
 * the model). Events go through {@link applyBatch}, the path the projector and replay use in
 * production: `given` as one batch at stream positions 1..n, `when` as the next batch at n+1…,
 * so a spec exercises the checkpoint and the batch transaction too. An event may be `null`: a
 * position the projector skips (a malformed message), which still moves the checkpoint.
 */
export function ProjectionSpecification(opts: ApplyOptions = {}): (
  ...given: (EventEnvelope | null)[]
) => {
  when(...events: (EventEnvelope | null)[]): ProjectionThen;
} {
  return (...given) => ({
    when: (...events) => {
      const run = async (use: (readModels: ReadModels, fold: () => void) => unknown) => {
        const readModels = openReadModels(':memory:');
        try {
          applyBatch(readModels.sqlite, positioned(given, 1), opts);
          const fold = () =>
            applyBatch(readModels.sqlite, positioned(events, given.length + 1), opts);
          await use(readModels, fold);
        } finally {
          await readModels.close();
        }
      };
      return {
        then: (check) =>
          run(async (readModels, fold) => {
            fold();
            await check(readModels);
          }),
        thenQuery: (query, expected) =>
          run(async (readModels, fold) => {
            fold();
            assert.deepEqual(await query(readModels), expected);
          }),
        thenThrows: (expected) =>
          run((_, fold) => {
            assert.throws(fold, (err: unknown) => {
              if (expected === undefined) return true;
              if (expected instanceof RegExp) return expected.test((err as Error)?.message);
              return expected(err);
            });
          }),
      };
    },
  });
}

function positioned(events: (EventEnvelope | null)[], first: number): PositionedEvent[] {
  return events.map((event, i) => ({ position: first + i, event }));
}
