// Decided announcements the event log has not accepted yet. Publishing is the only I/O here;
// a refused publish stays pending and is tried again on the next tick.
import { wrap, type EventEnvelope } from '@conform/contracts';
import type { EventPublisher, Logger } from '@conform/bus';
import type { Catalogue, IdentityEvent } from './decide.js';

// Different paths are independent, so publishes are pipelined this many at a time (one reply
// subscription per window, see EventPublisher.publishBatch).
const PUBLISH_WINDOW = 512;

/** Pending announcements by path: a newer decision for a path replaces the older one. */
export class Outbox {
  private readonly pending = new Map<string, IdentityEvent>();

  constructor(
    private readonly publisher: Pick<EventPublisher, 'publishBatch' | 'producer'>,
    private readonly log: Logger,
    /** Reads the catalogue (for a removal's discriminator) at publish time. */
    private readonly catalogue: () => Catalogue,
    /** Called with each event the log accepted and its stream sequence. */
    private readonly logged: (envelope: EventEnvelope, sequence: number) => void,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  add(event: IdentityEvent): void {
    this.pending.set(event.data.path, event);
  }

  /** A path that was forgotten loses its pending sighting, but not a pending removal. */
  forget(path: string): void {
    if (this.pending.get(path)?.type !== 'file.removed') this.pending.delete(path);
  }

  async flush(stopped: () => boolean): Promise<void> {
    const pending = [...this.pending];
    const counts: Partial<Record<IdentityEvent['type'], number>> = {};
    for (let i = 0; i < pending.length && !stopped(); i += PUBLISH_WINDOW) {
      const window: [string, IdentityEvent, EventEnvelope][] = [];
      for (const [path, event] of pending.slice(i, i + PUBLISH_WINDOW)) {
        try {
          window.push([path, event, this.envelopeOf(event)]);
        } catch (err) {
          this.log.warn(
            { err, path },
            `could not publish ${event.type}; retrying on the next tick`,
          );
        }
      }
      const envelopes = window.map(([, , envelope]) => envelope);
      // Folded as each ack arrives: the log follower, meeting the event next, then knows it
      // for the watcher's own and need not decode it.
      const results = await this.publisher.publishBatch(envelopes, {
        onStored: (k, ack) => {
          const [path, event, envelope] = window[k]!;
          this.logged(envelope, ack.seq);
          if (this.pending.get(path) === event) this.pending.delete(path);
          this.log.debug({ path, fileId: event.fileId, event: event.type }, event.type.slice(5));
          counts[event.type] = (counts[event.type] ?? 0) + 1;
        },
      });
      results.forEach((result, k) => {
        if (!(result instanceof Error)) return;
        const [path, event] = window[k]!;
        this.log.warn(
          { err: result, path },
          `could not publish ${event.type}; retrying on the next tick`,
        );
      });
    }
    // One line per flush at info, one per file at debug: a first scan of 100,000 files would
    // otherwise write 100,000 lines (and spend its time formatting them).
    if (Object.keys(counts).length) this.log.info({ published: counts }, 'announced files');
  }

  private envelopeOf(pending: IdentityEvent): EventEnvelope {
    const { fileId, ...event } = pending;
    return wrap(event as Omit<IdentityEvent, 'fileId'> as never, {
      fileId,
      producer: this.publisher.producer,
      time: new Date(),
      discriminator: discriminatorOf(pending, this.catalogue()),
    });
  }
}

/** Dedupe key of an announcement: the same sighting twice is one event in the log. */
export function discriminatorOf(event: IdentityEvent, catalogue: Catalogue): string {
  switch (event.type) {
    case 'file.discovered':
    case 'file.changed':
      return `${event.data.size}:${event.data.mtimeMs}`;
    case 'file.moved':
      return `${event.data.fromPath}>${event.data.path}:${event.data.size}:${event.data.mtimeMs}`;
    case 'file.removed':
      return `removed:${catalogue.files.get(event.fileId)?.sequence ?? 0}`;
  }
}
