import { TesseraRequestError } from '../sdk/index.js';
import { shopTour } from './shop-tour.js';

/**
 * `npm run example [-- <gateway url>] [--persisted]`, against a running `npm start`: signs in
 * as a seed customer, lists products and reviews the cheapest, through the typed SDK.
 * `--persisted` sends operation hashes only, as a gateway with TRUSTED_DOCUMENTS=enforce needs.
 */
const args = process.argv.slice(2);
const url = args.find((arg) => !arg.startsWith('--')) ?? 'http://127.0.0.1:4000/graphql';
try {
  await shopTour({
    url,
    persisted: args.includes('--persisted'),
    email: 'alan@example.com',
    password: 'tessera-demo-password',
    print: (line) => console.log(line),
  });
} catch (error) {
  if (error instanceof TesseraRequestError) console.error(`${error.message}\n(codes: ${error.codes.join(', ')})`);
  else if (error instanceof TypeError) console.error(`Cannot reach ${url} (${error.message}): is \`npm start\` running?`);
  else throw error;
  process.exit(1);
}
