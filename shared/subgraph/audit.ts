import { Entity, Index, Property } from '@mikro-orm/decorators/legacy';
import { GraphQLError, defaultFieldResolver, getNamedType, isObjectType, type GraphQLSchema } from 'graphql';
import type { Opt } from '@mikro-orm/core';
import { Args, Ctx, Directive, Field, ID, Int, ObjectType, Query, Resolver } from 'type-graphql';
import { BaseEntity } from '../store/base.entity.js';
import type { SubgraphContext } from './context.js';
import { codeOf, TesseraError } from '../errors/errors.js';
import { toTesseraError } from './resolver-errors.js';
import { ConnectionType, PageArgs, orderByThenId, paginate, type Connection } from './pagination.js';

/**
 * One mutation: who ran it, on what, and how it ended; or, for refusals of anonymous callers,
 * how many of one operation ended one way within a window (`count`). Each auditing subgraph keeps its own.
 */
@Entity({ tableName: 'audit_record' })
@Index({ properties: ['createdAt'] })
@ObjectType({ description: 'A mutation as its subgraph recorded it.' })
@Directive('@shareable')
export class AuditRecord extends BaseEntity {
  @Property({ type: 'uuid', nullable: true })
  @Field(() => ID, { nullable: true, description: 'The caller; null when anonymous.' })
  actorId: string | null = null;

  @Property({ length: 100 })
  @Field({ description: 'The mutation field, e.g. updateProduct.' })
  operation: string;

  @Property({ type: 'string', length: 100, nullable: true })
  @Field(() => String, { nullable: true })
  entityType: string | null = null;

  @Property({ type: 'string', length: 100, nullable: true })
  @Field(() => String, { nullable: true })
  entityId: string | null = null;

  @Property({ length: 40 })
  @Field({ description: 'SUCCESS, or the error code it ended with.' })
  outcome: string;

  @Property({ length: 128 })
  @Field({ description: 'The request; for an aggregated record, the first one counted.' })
  requestId: string;

  @Property({ type: 'integer', default: 1 })
  @Field(() => Int, {
    description:
      'How many mutations the record stands for: 1, or for refusals of anonymous callers, how many of this operation ended this way in its window (createdAt the first, updatedAt the last).',
  })
  count: Opt<number> = 1;
}

const AuditRecordConnection = ConnectionType(AuditRecord, { shareable: true });

/** What a mutation touched, as its record names it. */
export interface AuditTarget {
  entityType: string | null;
  entityId: string | null;
}

/** One mutation as it ended, for a subgraph to name what it touched. */
export interface AuditedMutation {
  fieldName: string;
  args: Record<string, unknown>;
  /** What it returned; undefined when it failed. */
  result: unknown;
  /** The name of its return type when that is an object type, else ''. */
  returnTypeName: string;
}

/** How a subgraph audits its mutations (`audit` in its definition). */
export interface AuditOptions {
  /**
   * What a mutation touched when its result does not say: a result with a string `id` names
   * itself (its type and id); for anything else (a failure, a payload, a scalar) this is asked.
   * Unset: such records name nothing.
   */
  targetOf?(mutation: AuditedMutation): AuditTarget;
}

const nothing: AuditTarget = { entityType: null, entityId: null };

function targetOf(mutation: AuditedMutation, options: AuditOptions): AuditTarget {
  const record = mutation.result as Record<string, unknown> | null | undefined;
  if (record && typeof record === 'object' && typeof record.id === 'string') {
    return { entityType: mutation.returnTypeName, entityId: record.id };
  }
  return options.targetOf?.(mutation) ?? nothing;
}

function outcomeOf(error: unknown): string {
  const mapped = toTesseraError(error instanceof GraphQLError ? (error.originalError ?? error) : error);
  if (mapped instanceof TesseraError) return mapped.code;
  return codeOf(mapped);
}

/** How long one aggregated record of anonymous refusals counts before the next one starts. */
const ANONYMOUS_REFUSALS_WINDOW_MS = 60_000;

interface OpenAggregate {
  startedAt: number;
  /** The record's id, once inserted. */
  id: Promise<string>;
  /** Refusals counted but not yet added to the record. */
  pending: number;
  /** The update adding `pending`, while one runs; later refusals join it. */
  flushing: Promise<void> | undefined;
}

/**
 * Counts refusals of anonymous callers on one record per operation and outcome per window
 * (per process), instead of a record each: anyone can send them, and a flood of them must
 * not fill the store. The first refusal of a window inserts the record; the others add to
 * its `count`, concurrent ones in one update. Each refusal returns once it is counted, so a
 * count is lost only with the store.
 */
function anonymousRefusalCounter() {
  const open = new Map<string, OpenAggregate>();

  async function flush(aggregate: OpenAggregate, context: SubgraphContext): Promise<void> {
    try {
      const id = await aggregate.id;
      const em = context.em.fork();
      const table = em.getMetadata().get(AuditRecord).tableName;
      while (aggregate.pending) {
        const added = aggregate.pending;
        aggregate.pending = 0;
        await em.execute(`update ${table} set "count" = "count" + ?, updated_at = now() where id = ?`, [added, id]);
      }
    } finally {
      aggregate.flushing = undefined;
    }
  }

  return async (context: SubgraphContext, operation: string, outcome: string): Promise<void> => {
    const key = `${operation} ${outcome}`;
    const aggregate = open.get(key);
    const now = Date.now();
    if (aggregate && now - aggregate.startedAt < ANONYMOUS_REFUSALS_WINDOW_MS) {
      aggregate.pending++;
      aggregate.flushing ??= flush(aggregate, context);
      return aggregate.flushing;
    }
    const em = context.em.fork();
    const record = em.create(AuditRecord, { actorId: null, operation, outcome, requestId: context.requestId });
    const started: OpenAggregate = { startedAt: now, id: em.flush().then(() => record.id), pending: 0, flushing: undefined };
    open.set(key, started);
    try {
      await started.id;
    } catch (error) {
      // The next refusal tries a record of its own again.
      if (open.get(key) === started) open.delete(key);
      throw error;
    }
  };
}

/**
 * Wraps every Mutation field so that it writes an AuditRecord, whatever the outcome
 * (refusals included), on its own fork: a failed mutation's state never blocks its record.
 * Refusals of anonymous callers are aggregated (`anonymousRefusalCounter`); signed-in
 * callers' mutations, and anonymous ones that succeed, get a record each.
 */
export function auditMutations(schema: GraphQLSchema, options: AuditOptions): GraphQLSchema {
  const countAnonymousRefusal = anonymousRefusalCounter();
  const mutation = schema.getMutationType();
  for (const field of Object.values(mutation?.getFields() ?? {})) {
    const resolve = field.resolve ?? defaultFieldResolver;
    const returnType = getNamedType(field.type);
    const returnTypeName = isObjectType(returnType) ? returnType.name : '';
    field.resolve = async (source, args: Record<string, unknown>, context: SubgraphContext, info) => {
      const write = async (outcome: string, target: AuditTarget) => {
        try {
          const em = context.em.fork();
          em.create(AuditRecord, {
            actorId: context.user?.userId ?? null,
            operation: field.name,
            outcome,
            requestId: context.requestId,
            ...target,
          });
          await em.flush();
        } catch (error) {
          context.logger.error({ err: error, operation: field.name }, 'could not write the audit record');
        }
      };
      try {
        const result = await resolve(source, args, context, info);
        await write('SUCCESS', targetOf({ fieldName: field.name, args, result, returnTypeName }, options));
        return result;
      } catch (error) {
        const outcome = outcomeOf(error);
        if (context.user) {
          await write(outcome, targetOf({ fieldName: field.name, args, result: undefined, returnTypeName }, options));
        } else {
          await countAnonymousRefusal(context, field.name, outcome).catch((failure: unknown) => {
            context.logger.error({ err: failure, operation: field.name }, 'could not count the refusal in the audit log');
          });
        }
        throw error;
      }
    };
  }
  return schema;
}

/** `catalog` → `catalogAuditLog`, `order-history` → `orderHistoryAuditLog`. */
export function auditLogQueryName(subgraphName: string): string {
  return `${subgraphName.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())}AuditLog`;
}

/** The admins' read of a subgraph's audit records, newest first, under a root field of its own. */
export function createAuditLogResolver(subgraphName: string) {
  @Resolver()
  class AuditLogResolver {
    @Query(() => AuditRecordConnection, {
      name: auditLogQueryName(subgraphName),
      description: `Mutations recorded by ${subgraphName}, newest first.`,
    })
    @Directive('@requiresScopes(scopes: [["audit:read"]])')
    @Directive('@listSize(slicingArguments: ["first"], sizedFields: ["edges"])')
    async auditLog(@Ctx() ctx: SubgraphContext, @Args(() => PageArgs) args: PageArgs): Promise<Connection<AuditRecord>> {
      return paginate(ctx.em, AuditRecord, {}, args, orderByThenId('newest', 'createdAt', 'desc'));
    }
  }
  return AuditLogResolver;
}
