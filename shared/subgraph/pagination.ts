// Decorator metadata (TypeGraphQL, MikroORM) needs the Reflect polyfill loaded first.
import 'reflect-metadata';
import { ArgsType, Directive, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { Max, Min } from 'class-validator';
import type { EntityName, FilterQuery, QueryOrder } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/sql';
import { BadUserInputError } from '../errors/errors.js';

/** The largest page any list serves; bigger requests are refused, not silently cut. */
export const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 10;

@ObjectType({ description: 'Where a page sits in its list (Relay cursor connections).' })
@Directive('@shareable')
@Directive('@cacheControl(inheritMaxAge: true)')
class PageInfo {
  @Field()
  hasNextPage: boolean;

  @Field()
  hasPreviousPage: boolean;

  @Field(() => String, { nullable: true })
  startCursor: string | null;

  @Field(() => String, { nullable: true })
  endCursor: string | null;
}

@ArgsType()
export class PageArgs {
  @Field(() => Int, { defaultValue: DEFAULT_PAGE_SIZE, description: `Page size, at most ${MAX_PAGE_SIZE}.` })
  @Min(0, { message: 'first must not be negative' })
  @Max(MAX_PAGE_SIZE, {
    message: `first must be at most ${MAX_PAGE_SIZE}; ask for a smaller page and follow pageInfo.endCursor`,
  })
  first: number = DEFAULT_PAGE_SIZE;

  @Field(() => String, { nullable: true, description: 'The endCursor of the previous page.' })
  after?: string | null;
}

interface Edge<T> {
  node: T;
  cursor: string;
}

export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
  totalCount: number;
}

/**
 * `ConnectionType(Review)` → GraphQL types `ReviewConnection` and `ReviewEdge`. `shareable`
 * when several subgraphs define the same connection (audit records).
 */
export function ConnectionType<T extends object>(
  itemType: ClassType<T>,
  { name = itemType.name, shareable = false }: { name?: string; shareable?: boolean } = {},
): ClassType<Connection<T>> {
  const share: ClassDecorator = shareable ? Directive('@shareable') : () => undefined;

  @ObjectType(`${name}Edge`)
  @share
  @Directive('@cacheControl(inheritMaxAge: true)')
  class EdgeType {
    @Field(() => itemType)
    node: T;

    @Field()
    cursor: string;
  }

  @ObjectType(`${name}Connection`)
  @share
  @Directive('@cacheControl(inheritMaxAge: true)')
  class ConnectionClass {
    @Field(() => [EdgeType])
    edges: EdgeType[];

    @Field(() => PageInfo)
    pageInfo: PageInfo;

    @Field(() => Int)
    totalCount: number;
  }
  return ConnectionClass;
}

type CursorValue = string | number | { d: string };

/**
 * A cursor is the ordering's name and the sort values of the last row seen, base64url
 * encoded. Naming the ordering lets a cursor from another ordering be refused cleanly.
 */
export function encodeCursor(ordering: string, values: unknown[]): string {
  const encoded = values.map((value): CursorValue => (value instanceof Date ? { d: value.toISOString() } : (value as string | number)));
  return Buffer.from(JSON.stringify([ordering, ...encoded])).toString('base64url');
}

export function decodeCursor(cursor: string, ordering: string, arity: number): unknown[] {
  const invalid = () =>
    new BadUserInputError(`after is not a cursor of this list (ordered by ${ordering}); pass a pageInfo.endCursor it returned.`, [
      { field: 'after', message: 'invalid cursor' },
    ]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed[0] !== ordering || parsed.length !== arity + 1) throw invalid();
  return parsed.slice(1).map((value: unknown) => {
    if (typeof value === 'string' || typeof value === 'number') return value;
    if (value && typeof value === 'object' && typeof (value as { d?: unknown }).d === 'string') {
      const date = new Date((value as { d: string }).d);
      if (!Number.isNaN(date.getTime())) return date;
    }
    throw invalid();
  });
}

/** An ordering of a root list: a name (for cursors) and its fields, ending with a unique one. */
export interface Ordering<T> {
  name: string;
  fields: [keyof T & string, `${QueryOrder}` | 'asc' | 'desc'][];
}

/** An ordering by `field`, its ties broken by the unique `id`, both in `direction`. */
export function orderByThenId<T extends { id: unknown }>(
  name: string,
  field: keyof T & string,
  direction: Ordering<T>['fields'][number][1],
): Ordering<T> {
  return {
    name,
    fields: [
      [field, direction],
      ['id', direction],
    ],
  };
}

function toConnection<T>(
  items: T[],
  cursorOf: (item: T) => string,
  totalCount: number,
  hasNextPage: boolean,
  after?: string | null,
): Connection<T> {
  const edges = items.map((node) => ({ node, cursor: cursorOf(node) }));
  return {
    edges,
    totalCount,
    pageInfo: {
      hasNextPage,
      hasPreviousPage: Boolean(after),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

/** One page of a root list, keyset-paginated by MikroORM's cursor support. */
export async function paginate<T extends object>(
  em: EntityManager,
  entity: EntityName<T>,
  where: FilterQuery<T>,
  args: PageArgs,
  ordering: Ordering<T>,
): Promise<Connection<T>> {
  const after = args.after
    ? Object.fromEntries(decodeCursor(args.after, ordering.name, ordering.fields.length).map((value, i) => [ordering.fields[i]![0], value]))
    : undefined;
  const orderBy = Object.fromEntries(ordering.fields) as never;
  const page = await em.findByCursor(entity, {
    where: where as never,
    first: args.first,
    after: after as never,
    orderBy,
    includeCount: true,
  });
  const cursorOf = (item: T) =>
    encodeCursor(
      ordering.name,
      ordering.fields.map(([field]) => item[field]),
    );
  return toConnection(page.items as T[], cursorOf, page.totalCount, page.hasNextPage, args.after);
}

/**
 * Pages of a child list for many parents at once (e.g. the reviews of 50 products), newest
 * first, in one SQL statement: the batch function behind a DataLoader, so a list of parents
 * costs one query however long it is. Window functions give each parent its own page and
 * total.
 */
export async function pagesByParent<T extends object>(
  em: EntityManager,
  entity: EntityName<T>,
  parentProperty: keyof T & string,
  requestedIds: readonly string[],
  args: PageArgs,
  accept: (parentId: string) => boolean = () => true,
): Promise<Connection<T>[]> {
  const ordering = 'newest';
  // Parents `accept` refuses (malformed ids) get an empty page without a query.
  const parentIds = [...new Set(requestedIds.filter(accept))];
  const meta = em.getMetadata().get(entity);
  const properties = meta.properties as Record<string, { fieldNames: string[] }>;
  const column = (property: string) => properties[property]!.fieldNames[0]!;
  const parent = column(parentProperty);
  const createdAt = column('createdAt');
  const id = column('id');
  const params: unknown[] = [...parentIds];
  let afterClause = '';
  if (args.after) {
    const [cursorDate, cursorId] = decodeCursor(args.after, ordering, 2);
    afterClause = `where (r.${createdAt}, r.${id}) < (?, ?)`;
    params.push(cursorDate, cursorId);
  }
  params.push(args.first + 1);
  const rows = !parentIds.length
    ? []
    : await em.execute<Record<string, unknown>[]>(
        `select * from (
       select r.*, row_number() over (partition by r.${parent} order by r.${createdAt} desc, r.${id} desc) as tessera_rank
       from (select t.*, count(*) over (partition by t.${parent}) as tessera_total
             from ${meta.tableName} t where t.${parent} in (${parentIds.map(() => '?').join(', ')})) r
       ${afterClause}
     ) p where p.tessera_rank <= ? order by p.${parent}, p.tessera_rank`,
        params,
      );
  const byParent = new Map<string, { items: T[]; total: number; more: boolean }>();
  for (const { tessera_rank: rank, tessera_total: total, ...row } of rows) {
    const key = String(row[parent]);
    const group = byParent.get(key) ?? { items: [], total: Number(total), more: false };
    if (Number(rank) > args.first) group.more = true;
    else group.items.push(em.map(entity, row as never));
    byParent.set(key, group);
  }
  // Past a cursor, a parent with no rows left still has a total: count those in one more statement.
  const uncounted = args.after ? parentIds.filter((parentId) => !byParent.has(parentId)) : [];
  if (uncounted.length) {
    const counts = await em.execute<{ parent: string; total: string }[]>(
      `select ${parent} as parent, count(*) as total from ${meta.tableName}
       where ${parent} in (${uncounted.map(() => '?').join(', ')}) group by ${parent}`,
      [...uncounted],
    );
    for (const { parent: key, total } of counts) byParent.set(String(key), { items: [], total: Number(total), more: false });
  }
  const cursorOf = (item: T) => {
    const record = item as Record<string, unknown>;
    return encodeCursor(ordering, [record.createdAt, record.id]);
  };
  return requestedIds.map((parentId) => {
    const group = byParent.get(parentId);
    return toConnection(group?.items ?? [], cursorOf, group?.total ?? 0, group?.more ?? false, args.after);
  });
}
