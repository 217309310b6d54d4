/**
 * Loaded into the soak benchmark's gateway (`--import`, with `--expose-gc`): SIGUSR2 runs a
 * full garbage collection, so that the heap read next from /metrics is what is retained, not
 * garbage V8 has not collected yet.
 */
process.on('SIGUSR2', () => (globalThis as { gc?: () => void }).gc?.());
