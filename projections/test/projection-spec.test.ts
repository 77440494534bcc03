import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompiledQuery } from 'kysely';
import { sampleEvent } from '@conform/contracts';
import {
  getFile,
  lastAppliedSequence,
  ProjectionSpecification,
  readModelProjections,
  type Projection,
} from '../src/index.js';

const spec = ProjectionSpecification();

describe('ProjectionSpecification', () => {
  it('folds given and when as consecutive batches through applyBatch', async () => {
    await spec(sampleEvent('file.discovered', 's1'), null)
      .when(sampleEvent('file.probed', 's1'))
      .then(async ({ db }) => {
        assert.equal((await getFile(db, 's1'))?.lastSequence, 3);
        assert.equal(await lastAppliedSequence(db), 3);
      });
  });

  it('compares a query result, and fails when it differs', async () => {
    const when = spec().when(sampleEvent('file.discovered', 's2'));
    await when.thenQuery(async ({ db }) => (await getFile(db, 's2'))?.status, 'discovered');
    await assert.rejects(
      when.thenQuery(async ({ db }) => (await getFile(db, 's2'))?.status, 'replaced'),
      assert.AssertionError,
    );
  });

  it('expects a failing batch to throw, and fails when it does not', async () => {
    const failing: Projection = {
      name: 'failing',
      canHandle: (type) => type === 'file.probed',
      init: () => [],
      evolve: () => [CompiledQuery.raw('insert into no_such_table values (1)')],
    };
    const withFailing = ProjectionSpecification({
      projections: [...readModelProjections, failing],
    });
    await withFailing(sampleEvent('file.discovered', 's3'))
      .when(sampleEvent('file.probed', 's3'))
      .thenThrows(/no such table/);
    await assert.rejects(
      withFailing().when(sampleEvent('file.discovered', 's3')).thenThrows(),
      assert.AssertionError,
    );
  });
});
