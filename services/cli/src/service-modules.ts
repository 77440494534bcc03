// The service packages a `conform up` or `conform run` starts, loaded on demand rather than
// imported by runtime.ts: loading and compiling them is about half a second of the main thread
// (of about a second before conform can do anything), and the embedded nats-server needs none
// of it to start. startConform begins this load, then starts the server, and awaits the
// modules only once the server is up: the compile runs while nats-server, on the other core,
// reads its store back (docs/benchmarks/discovery.md, the unchanged restart).

/** Every service package runtime.ts starts services from. */
export async function loadServiceModules() {
  const [watcher, planner, encoder, verifier, archiver, notify, projections, status] =
    await Promise.all([
      import('@conform/watcher'),
      import('@conform/planner'),
      import('@conform/encoder'),
      import('@conform/verifier'),
      import('@conform/archiver'),
      import('@conform/notify'),
      import('@conform/projections'),
      import('@conform/status'),
    ]);
  return { watcher, planner, encoder, verifier, archiver, notify, projections, status };
}

/** What {@link loadServiceModules} resolves to. */
export type ServiceModules = Awaited<ReturnType<typeof loadServiceModules>>;
