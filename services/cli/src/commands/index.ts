import type { Command } from 'commander';

/** A command file: registers its command(s) on the program. */
export interface CommandModule {
  register(program: Command): void;
}

/**
 * Every `conform` subcommand by name, loaded on demand: a new command is a file in this folder
 * and a line here. Importing a command file imports what it runs (`up` every service, `plan`
 * the planner and its policy validators), so a command that loaded every file paid for all of
 * them at start-up (0.5–0.9 s for `conform replay`); now a run loads only its own.
 */
export const commandModules: Readonly<Record<string, () => Promise<CommandModule>>> = {
  up: () => import('./up.js'),
  run: () => import('./run.js'),
  demo: () => import('./demo.js'),
  restore: () => import('./restore.js'),
  config: () => import('./config.js'),
  plan: () => import('./plan.js'),
  doctor: () => import('./doctor.js'),
  pause: () => import('./pause.js'),
  resume: () => import('./resume.js'),
  retry: () => import('./retry.js'),
  replay: () => import('./replay.js'),
  audit: () => import('./audit.js'),
  status: () => import('./status.js'),
  clean: () => import('./clean.js'),
  ls: () => import('./ls.js'),
};

/**
 * Registers the command `args` (the arguments after the script) name first, or every command
 * when the first argument names none (help, the version, a mistyped name, which commander
 * answers from the full list).
 */
export async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  const first = args[0];
  const names =
    first !== undefined && Object.hasOwn(commandModules, first)
      ? [first]
      : Object.keys(commandModules);
  const modules = await Promise.all(names.map((name) => commandModules[name]!()));
  for (const module of modules) module.register(program);
}
