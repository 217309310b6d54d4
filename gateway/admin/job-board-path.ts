/** Where the gateway serves Bull Board (gateway/admin/job-board.ts), loaded only when Redis is configured. */
export const JOB_BOARD_PATH = '/admin/jobs';
