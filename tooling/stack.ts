import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What `npm start` needs of a subgraph: its name and default port. */
interface StackMember {
  name: string;
  port: number;
}

/**
 * The subgraphs `npm start` runs, with their stores made ready to open (bin/stack-plan.ts).
 * Asked of a child process so that the supervisor, which runs as long as the stack does, never
 * loads the registry: importing it (every resolver, TypeGraphQL, MikroORM, Apollo) made the
 * supervisor 167 MB for a list of names; without it, it stays near a bare Node process.
 */
export function planStack(env: NodeJS.ProcessEnv): Promise<StackMember[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [fileURLToPath(new URL('../bin/stack-plan.js', import.meta.url))], { env }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`Preparing the subgraphs failed: ${stderr.trim() || error.message}`));
        return;
      }
      resolve(JSON.parse(stdout) as StackMember[]);
    });
  });
}

/**
 * The V8 flags the gateway process runs with (the Docker image, docker-compose, `npm run
 * start:gateway`, the engine benchmark): semi-spaces of 16 MB instead of V8's up to 64 MB, and
 * the old generation let grow by half its live size between full collections instead of up to
 * four times. Under 50 concurrent deep queries (`npm run bench -- engine`) the gateway then
 * peaks near 230 MiB instead of 500–600: V8 otherwise sizes its heap to the request garbage.
 * 16 rather than 8 MB: half as many scavenges, each copying about as much (what survives one
 * is the few plans under way), cost a fifth less CPU per request for ~10 MiB more.
 * On node's command line, not in code (a semi-space's size cannot change once the process has
 * started) nor in `NODE_OPTIONS` (which refuses `--heap-growing-percent`).
 */
export const GATEWAY_V8_FLAGS = ['--max-semi-space-size=16', '--heap-growing-percent=50'] as const;

/**
 * `NODE_OPTIONS` for the stack's processes: a young generation of 1 MB semi-spaces instead of
 * V8's up to 16 MB (about 35 MB less RSS per process, measured here, for scavenges more often
 * but each shorter; a demo's load does not notice). A size the user set is kept.
 */
export function stackNodeOptions(current: string | undefined): string {
  if (current?.includes('--max-semi-space-size')) return current;
  return [current, '--max-semi-space-size=1'].filter(Boolean).join(' ');
}

/**
 * The environment `npm start` gives its processes: `NODE_OPTIONS` as above, and glibc's malloc
 * held to two arenas (`MALLOC_ARENA_MAX=2`; by default it keeps one per thread that allocated,
 * and each process has V8's and libuv's threads): about 4 MB less RSS per process, measured
 * here with `npm run bench -- demo`. Values the user set are kept.
 */
export function stackEnvironment(env: NodeJS.ProcessEnv): { NODE_OPTIONS: string; MALLOC_ARENA_MAX: string } {
  return { NODE_OPTIONS: stackNodeOptions(env.NODE_OPTIONS), MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? '2' };
}
