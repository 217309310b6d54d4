import type { EntityManager } from '../store/orm.js';
import type { JobsDeclaration } from './definition.js';
import { OutboxMessage } from './outbox.entity.js';

/**
 * Jobs and events a write requests (`ctx.jobs.enqueue`, `ctx.jobs.emit`, also `ctx.events.emit`): each one an
 * `OutboxMessage` created on the request's EntityManager, or on the one given (a `transactional` block's), so the
 * flush that writes the data writes it too, in the same transaction. Nothing is queued here: the relay does that once
 * the row is committed (shared/jobs/relay.ts).
 */
export class OutboxWriter {
  private readonly created: { em: EntityManager; message: OutboxMessage }[] = [];

  constructor(
    private readonly subgraph: string,
    private readonly declaration: JobsDeclaration,
    private readonly em: EntityManager | undefined,
    /** Wakes the relay. */
    private readonly relay: () => void = () => undefined,
  ) {}

  /** Requests one of the subgraph's jobs; the payload is checked against its schema now. */
  enqueue(name: string, payload: unknown, options: { em?: EntityManager } = {}): void {
    const job = this.declaration.jobs?.[name];
    if (!job) throw new Error(`${this.subgraph} declares no job ${name}.`);
    this.write(options.em, 'job', name, job.payload.parse(payload));
  }

  /** Publishes one of the subgraph's events to its consumers, whichever subgraphs they are. */
  emit(event: string, payload: unknown, options: { em?: EntityManager } = {}): void {
    const schema = this.declaration.events?.publishes?.[event];
    if (!schema) throw new Error(`${this.subgraph} publishes no event ${event}.`);
    this.write(options.em, 'event', event, schema.parse(payload));
  }

  /** Rows requested but not flushed yet. */
  unflushed(): { em: EntityManager; message: OutboxMessage }[] {
    return this.created.filter(({ em, message }) => em.getUnitOfWork().getPersistStack().has(message));
  }

  /** Forgets rows not flushed yet (their mutation failed): a later flush of the same EntityManager must not write them. */
  discardUnflushed(): void {
    for (const { em, message } of this.unflushed()) {
      em.getUnitOfWork().getPersistStack().delete(message);
      em.getUnitOfWork().unsetIdentity(message);
    }
    this.created.length = 0;
  }

  /** The rows requested are committed: the relay moves them now, rather than at its next tick. */
  committed(): void {
    if (!this.created.length) return;
    this.created.length = 0;
    this.relay();
  }

  private write(given: EntityManager | undefined, kind: 'job' | 'event', name: string, payload: unknown): void {
    const em = given ?? this.em;
    if (!em) throw new Error(`${this.subgraph} has no store: jobs and events go through an outbox in a store.`);
    // JSON now, as the queue will carry it: a Date is its ISO string for the handler whichever way it came.
    const message = em.create(OutboxMessage, { kind, name, payload: JSON.parse(JSON.stringify(payload ?? null)) });
    this.created.push({ em, message });
  }
}
