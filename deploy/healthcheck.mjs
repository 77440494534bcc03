// HEALTHCHECK: GET /healthz on this container's own HTTP port. The status service (and
// `conform up`) listen on CONFORM_PORT; a service run alone on CONFORM_METRICS_PORT.
const port = process.env.CONFORM_METRICS_PORT || process.env.CONFORM_PORT || '8484';
try {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, {
    signal: AbortSignal.timeout(4000),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  process.exit(0);
} catch (err) {
  console.error(`conform healthcheck: http://127.0.0.1:${port}/healthz: ${err.message}`);
  process.exit(1);
}
