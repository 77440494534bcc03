import { ConformError } from '@conform/contracts';

/** Base of the planner's errors; `code` is stable for programs to match on. */
export class PlannerError extends ConformError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'PlannerError';
  }
}

/** A policy that cannot be applied (e.g. a non-positive size ratio). */
export class InvalidPolicyError extends PlannerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_POLICY', message, options);
    this.name = 'InvalidPolicyError';
  }
}
