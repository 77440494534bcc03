import type { Command } from 'commander';
import { register as registerDemo } from './demo.js';
import { register as registerRun } from './run.js';
import { register as registerUp } from './up.js';

/** Every `conform` subcommand; a new command is a file in this folder and a line here. */
export const commands: ((program: Command) => void)[] = [registerUp, registerRun, registerDemo];
