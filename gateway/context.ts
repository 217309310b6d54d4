import type { Logger } from '../shared/logger.js';

/** Per-request state of the gateway, built by the Express middleware for each request. */
export interface GatewayContext {
  requestId: string;
  logger: Logger;
}
