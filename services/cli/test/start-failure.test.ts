import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError } from '../src/errors.js';
import { ServiceStartFailed, startFailure } from '../src/start-failure.js';

// What a failed `conform up` prints: the service whose start failed, and a nats.js timeout in
// words (its message is only "timeout").
describe('startFailure', () => {
  const timeout = Object.assign(new Error('timeout'), { name: 'TimeoutError' });

  it('names the service and explains a NATS timeout', () => {
    const { error, service, cause } = startFailure(new ServiceStartFailed('archiver', timeout));
    assert.equal(service, 'archiver');
    assert.equal(cause, timeout);
    assert.equal(error.code, 'START_FAILED');
    assert.equal(
      error.message,
      'conform could not start: the archiver: timeout (a NATS request got no answer in time)',
    );
    assert.equal(error.cause, timeout);
  });

  it('keeps an error of no service as it was worded', () => {
    const { error, service } = startFailure(new Error('connection refused'));
    assert.equal(service, undefined);
    assert.equal(error.message, 'conform could not start: connection refused');
  });

  it('passes a CliError through unchanged, from a service or not', () => {
    const usage = new CliError('NOTIFY_NOT_CONFIGURED', 'conform run notify needs a --config');
    assert.equal(startFailure(usage).error, usage);
    assert.equal(startFailure(new ServiceStartFailed('notify', usage)).error, usage);
  });
});
