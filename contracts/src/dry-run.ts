import type { PlanDecision } from './events.js';

// The report of `conform plan --dry-run`: the planner computes it, the CLI prints it and the
// status server serves it to the dashboard. One shape for all three.

/** One file's row in the dry-run report. */
export interface DryRunRow {
  /** The file id, when the event log gave one (links the dashboard row to the file view). */
  fileId: string;
  path: string;
  library: string;
  decision: PlanDecision;
  reasons: string[];
  policyVersion: string;
  /** The version of the file's last recorded plan; null if it has none. */
  lastPolicyVersion: string | null;
  /** Whether the planner would publish a new plan (decision or target differ from the last). */
  changes: boolean;
  sizeBytes: number;
  estimatedOutputBytes: number | null;
  estimatedBytesSaved: number;
}

/** The dry-run report: every row and the totals. */
export interface DryRunReport {
  files: DryRunRow[];
  totals: Record<PlanDecision, number> & { estimatedBytesSaved: number; changes: number };
}
