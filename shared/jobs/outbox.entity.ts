import { Entity, Index, Property } from '@mikro-orm/decorators/legacy';
import type { Opt } from '@mikro-orm/core';
import { BaseEntity } from '../store/base.entity.js';

/**
 * A job or event requested by a write, stored with it (shared/jobs/outbox.ts) until the relay has put it on
 * the queue. Its id is the queued job's id, so relaying a row twice queues it once.
 */
@Entity({ tableName: 'outbox_message' })
@Index({ properties: ['relayedAt', 'createdAt'] })
export class OutboxMessage extends BaseEntity {
  /** `job` (one of the subgraph's jobs) or `event` (one it publishes). */
  @Property({ length: 10 })
  kind: 'job' | 'event';

  @Property({ length: 200 })
  name: string;

  @Property({ type: 'json' })
  payload: unknown;

  /** When the relay queued it; null while it waits. */
  @Property({ type: 'timestamptz', nullable: true })
  relayedAt: Opt<Date> | null = null;
}
