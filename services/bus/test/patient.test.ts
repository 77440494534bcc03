import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRequestTimeout, patiently } from '../src/patient.js';

const timeout = () => Object.assign(new Error('timeout'), { name: 'TimeoutError' });

describe('patiently', () => {
  it('asks again while the request times out, and returns its answer', async () => {
    let asked = 0;
    const warned: unknown[] = [];
    const answer = await patiently(
      'consumer x',
      async () => {
        if (++asked < 3) throw timeout();
        return 'info';
      },
      { log: { warn: (o: unknown) => warned.push(o) } as never },
    );
    assert.equal(answer, 'info');
    assert.equal(asked, 3);
    assert.deepEqual(warned, [
      { what: 'consumer x', attempt: 1 },
      { what: 'consumer x', attempt: 2 },
    ]);
  });

  it('throws any other error at once', async () => {
    let asked = 0;
    const refused = new Error('stream not found');
    await assert.rejects(
      patiently('event log', async () => {
        asked++;
        throw refused;
      }),
      (err) => err === refused,
    );
    assert.equal(asked, 1);
  });

  it('gives up once its budget is spent, with the timeout itself', async () => {
    let clock = 0;
    let asked = 0;
    await assert.rejects(
      patiently(
        'event log',
        async () => {
          asked++;
          clock += 5_000; // each attempt waits out nats.js's limit
          throw timeout();
        },
        { budgetMs: 12_000, now: () => clock },
      ),
      (err) => isRequestTimeout(err),
    );
    assert.equal(asked, 3);
  });
});
