import { Entity, Index, Property } from '@mikro-orm/decorators/legacy';
import { GraphQLError, defaultFieldResolver, getNamedType, isObjectType, type GraphQLSchema } from 'graphql';
import { Args, Ctx, Directive, Field, ID, ObjectType, Query, Resolver } from 'type-graphql';
import { BaseEntity } from './base.entity.js';
import type { SubgraphContext } from './context.js';
import { TesseraError, toTesseraError } from './errors.js';
import { ConnectionType, PageArgs, paginate, type Connection } from './pagination.js';

/** One mutation: who ran it, on what, and how it ended. Every subgraph keeps its own. */
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
  @Field()
  requestId: string;
}

export const AuditRecordConnection = ConnectionType(AuditRecord, { shareable: true });

const verbs = /^(create|update|delete|remove|add|adjust|set|register|login|logout|refresh)/;

/** What a mutation touched, read from its result and arguments. */
function targetOf(result: unknown, args: Record<string, unknown>, returnTypeName: string, fieldName: string) {
  const record = result as Record<string, unknown> | null | undefined;
  if (record && typeof record === 'object') {
    if (typeof record.id === 'string') return { entityType: returnTypeName, entityId: record.id };
    const user = record.user as { id?: unknown } | undefined;
    if (user && typeof user.id === 'string') return { entityType: 'User', entityId: user.id };
  }
  const input = args.input as Record<string, unknown> | undefined;
  const id = [args.id, args.productId, input?.productId, typeof result === 'string' ? result : undefined].find((v) => typeof v === 'string');
  const noun = fieldName.replace(verbs, '');
  return { entityType: noun ? noun[0]!.toUpperCase() + noun.slice(1) : null, entityId: (id as string | undefined) ?? null };
}

function outcomeOf(error: unknown): string {
  const mapped = toTesseraError(error instanceof GraphQLError ? (error.originalError ?? error) : error);
  if (mapped instanceof TesseraError) return mapped.code;
  const code = (mapped as GraphQLError)?.extensions?.code;
  return typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
}

/**
 * Wraps every Mutation field so that it writes an AuditRecord, whatever the outcome
 * (refusals included), on its own fork: a failed mutation's state never blocks its record.
 */
export function auditMutations(schema: GraphQLSchema): GraphQLSchema {
  const mutation = schema.getMutationType();
  for (const field of Object.values(mutation?.getFields() ?? {})) {
    const resolve = field.resolve ?? defaultFieldResolver;
    const returnType = getNamedType(field.type);
    const returnTypeName = isObjectType(returnType) ? returnType.name : '';
    field.resolve = async (source, args: Record<string, unknown>, context: SubgraphContext, info) => {
      const write = async (outcome: string, target: { entityType: string | null; entityId: string | null }) => {
        try {
          const em = context.em.fork();
          em.create(AuditRecord, { actorId: context.user?.userId ?? null, operation: field.name, outcome, requestId: context.requestId, ...target });
          await em.flush();
        } catch (error) {
          context.logger.error({ err: error, operation: field.name }, 'could not write the audit record');
        }
      };
      try {
        const result = await resolve(source, args, context, info);
        await write('SUCCESS', targetOf(result, args, returnTypeName, field.name));
        return result;
      } catch (error) {
        await write(outcomeOf(error), targetOf(undefined, args, returnTypeName, field.name));
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
    @Query(() => AuditRecordConnection, { name: auditLogQueryName(subgraphName), description: `Mutations recorded by ${subgraphName}, newest first.` })
    @Directive('@requiresScopes(scopes: [["audit:read"]])')
    @Directive('@listSize(slicingArguments: ["first"], sizedFields: ["edges"])')
    async auditLog(@Ctx() ctx: SubgraphContext, @Args(() => PageArgs) args: PageArgs): Promise<Connection<AuditRecord>> {
      return paginate(ctx.em, AuditRecord, {}, args, { name: 'newest', fields: [['createdAt', 'desc'], ['id', 'desc']] });
    }
  }
  return AuditLogResolver;
}
