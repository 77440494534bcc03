import { childProcesses, type Logger, type NatsServerHandle } from '@conform/bus';

/** One overall deadline for a clean stop; in-flight work goes back to the queue, not waited for. */
export const STOP_DEADLINE_MS = 10_000;
/** The embedded server's grace on a forced stop: enough to flush its store, not to linger. */
export const FORCED_NATS_GRACE_MS = 1_500;

/**
 * What stops when: every service and HTTP server at once, then what they all use. A phase
 * starts when the one before it has finished.
 */
export const StopPhase = { Services: 0, ReadModels: 1, Bus: 2, Server: 3 } as const;
export type StopPhase = (typeof StopPhase)[keyof typeof StopPhase];
const PHASES: readonly StopPhase[] = [
  StopPhase.Services,
  StopPhase.ReadModels,
  StopPhase.Bus,
  StopPhase.Server,
];

/**
 * Collects what a running conform must stop and stops it: `stop` in phases with one overall
 * deadline, `force` (a second signal, or the deadline passed) at once: this process's children
 * (ffmpeg, ffprobe) are killed and the embedded nats-server gets a short clean stop, so nothing
 * is orphaned even when the clean path hangs.
 */
export class Stopper {
  private readonly steps: { phase: StopPhase; what: string; run: () => Promise<void> }[] = [];
  private forcing: Promise<void> | null = null;
  private onForce: () => void = () => undefined;
  private readonly forced = new Promise<'forced'>((r) => (this.onForce = () => r('forced')));
  /** Set once the embedded server runs: `force` stops it instead of killing it. */
  embeddedNats: NatsServerHandle | null = null;

  constructor(private readonly log: Logger) {}

  add(phase: StopPhase, what: string, run: () => Promise<void>): void {
    this.steps.push({ phase, what, run });
  }

  async stop(opts: { deadlineMs?: number } = {}): Promise<void> {
    const deadlineMs = opts.deadlineMs ?? STOP_DEADLINE_MS;
    let timer: NodeJS.Timeout | undefined;
    const overdue = new Promise<'overdue'>((r) => {
      timer = setTimeout(() => r('overdue'), deadlineMs);
    });
    const outcome = await Promise.race([
      this.phases().then(() => 'done' as const),
      overdue,
      this.forced,
    ]);
    clearTimeout(timer);
    if (outcome === 'overdue') this.log.warn({ deadlineMs }, 'stop deadline passed; forcing');
    if (outcome !== 'done') await this.force();
  }

  force(): Promise<void> {
    this.onForce();
    this.forcing ??= this.forceNow();
    return this.forcing;
  }

  private async phases(): Promise<void> {
    for (const phase of PHASES) {
      if (this.forcing) return;
      await Promise.all(
        this.steps
          .filter((s) => s.phase === phase)
          .map((s) =>
            s
              .run()
              .catch((err: unknown) =>
                this.log.error({ err, what: s.what }, 'error while stopping'),
              ),
          ),
      );
    }
  }

  private async forceNow(): Promise<void> {
    const nats = this.embeddedNats;
    const children = (await childProcesses(process.pid)).filter((pid) => pid !== nats?.pid);
    for (const pid of children) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.log.warn({ killed: children }, 'forced stop: child processes killed');
    if (nats) {
      await nats.stop({ graceMs: FORCED_NATS_GRACE_MS });
      this.log.info('embedded nats-server stopped');
    }
  }
}
