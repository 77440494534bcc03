import type { CompiledQuery } from 'kysely';
import type { EventEnvelope, EventType } from '@conform/contracts';

/**
 * A read model: which events it cares about, the DDL it needs, and a pure function from one
 * event at one stream position to the SQL writes that fold it in.
 */
export interface Projection {
  readonly name: string;
  canHandle(type: EventType): boolean;
  /** Idempotent DDL (`IF NOT EXISTS`), run every time the database is opened. */
  init(): CompiledQuery[];
  evolve(event: EventEnvelope, position: number): CompiledQuery[];
}
