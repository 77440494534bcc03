import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConformError, ContractViolationError } from '@conform/contracts';
import { ConfigError } from '@conform/config';
import { BusError, TransientError } from '@conform/bus';
import { MediaUnreadableError } from '@conform/media';
import { LibraryRootError } from '@conform/watcher';
import { InvalidPolicyError } from '@conform/planner';
import { NoEncoderError } from '@conform/encoder';
import { VerifierError } from '@conform/verifier';
import { SwapConflictError } from '@conform/archiver';
import { ReadModelOpenError } from '@conform/projections';
import { StatusListenError } from '@conform/status';
import { CliError, exitCodeOf, UsageError } from '../src/errors.js';

// One hierarchy: whatever a package throws, the CLI recognises it as a ConformError with a
// stable code and the cause kept, and only the CLI picks the exit code.
describe('one error hierarchy', () => {
  const cause = new Error('root cause');
  const samples: ConformError[] = [
    new ContractViolationError('bad event', { cause }),
    new ConfigError('CONFIG_INVALID', 'quality.yaml:3: bad', { file: 'quality.yaml', cause }),
    new TransientError('busy', { cause }),
    new BusError('NATS_UNREACHABLE', 'no nats', { cause }),
    new MediaUnreadableError('/m/a.mkv', 'Invalid data', { cause }),
    new LibraryRootError('/m', 'missing', { cause }),
    new InvalidPolicyError('ratio', { cause }),
    new NoEncoderError('hevc 10-bit', { cause }),
    new VerifierError('VERIFY', 'x', { cause }),
    new SwapConflictError('conflict', { cause }),
    new ReadModelOpenError('locked', { cause }),
    new StatusListenError('port taken', { cause }),
    new CliError('START_FAILED', 'could not start', { cause }),
  ];

  for (const err of samples) {
    it(`${err.name} is a ConformError with a code and its cause`, () => {
      assert.ok(err instanceof ConformError);
      assert.ok(err instanceof Error);
      assert.match(err.code, /^[A-Z_]+$/);
      assert.equal(err.cause, cause);
      assert.notEqual(err.name, 'Error');
    });
  }

  it('maps errors to exit codes in one place', () => {
    assert.equal(exitCodeOf(new UsageError('missing --library')), 2);
    assert.equal(exitCodeOf(new CliError('X', 'y', { exitCode: 3 })), 3);
    assert.equal(exitCodeOf(new ConfigError('C', 'm', { file: 'f' })), 1);
    assert.equal(exitCodeOf(new Error('anything')), 1);
  });
});
