import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * `npm run bench`: every benchmark, one after the other, each in a process of its own (so one's
 * memory does not weigh on the next); `npm run bench -- soak` runs only the ones named.
 */
const BENCHES = ['response-cache', 'soak', 'demo', 'engine', 'engine-shop', 'subscriptions', 'jobs'];
const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !BENCHES.includes(name));
if (unknown.length) {
  console.error(`Unknown benchmark ${unknown.join(', ')}; there are: ${BENCHES.join(', ')}.`);
  process.exit(2);
}
for (const name of asked.length ? asked : BENCHES) {
  console.log(`\n== ${name} ==`);
  const { status } = spawnSync(process.execPath, [fileURLToPath(new URL(`./${name}.js`, import.meta.url))], { stdio: 'inherit' });
  if (status !== 0) process.exit(status ?? 1);
}
