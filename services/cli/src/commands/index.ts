import type { Command } from 'commander';
import { register as registerConfig } from './config.js';
import { register as registerDemo } from './demo.js';
import { register as registerPlan } from './plan.js';
import { register as registerRun } from './run.js';
import { register as registerUp } from './up.js';
import { register as registerRestore } from './restore.js';
import { register as registerDoctor } from './doctor.js';
import { register as registerPause } from './pause.js';
import { register as registerResume } from './resume.js';
import { register as registerRetry } from './retry.js';
import { register as registerReplay } from './replay.js';
import { register as registerAudit } from './audit.js';
import { register as registerStatus } from './status.js';
import { register as registerClean } from './clean.js';
import { register as registerLs } from './ls.js';

/** Every `conform` subcommand; a new command is a file in this folder and a line here. */
export const commands: ((program: Command) => void)[] = [
  registerUp,
  registerRun,
  registerDemo,
  registerRestore,
  registerConfig,
  registerPlan,
  registerDoctor,
  registerPause,
  registerResume,
  registerRetry,
  registerReplay,
  registerAudit,
  registerStatus,
  registerClean,
  registerLs,
];
