import { TesseraRequestError } from '../sdk/index.js';
import { productPageTour } from './product-page-tour.js';

/**
 * `npm run example:product-page [-- <gateway url>] [--persisted]`, against a running
 * `npm start`: the top product's page through the typed SDK, its reviews deferred (`@defer`),
 * each state printed as it arrives.
 */
const args = process.argv.slice(2);
const url = args.find((arg) => !arg.startsWith('--')) ?? 'http://127.0.0.1:4000/graphql';
try {
  await productPageTour({ url, persisted: args.includes('--persisted'), print: (line) => console.log(line) });
} catch (error) {
  if (error instanceof TesseraRequestError) console.error(`${error.message}\n(codes: ${error.codes.join(', ')})`);
  else if (error instanceof TypeError) console.error(`Cannot reach ${url} (${error.message}): is \`npm start\` running?`);
  else throw error;
  process.exit(1);
}
