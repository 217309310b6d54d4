import { defaultFieldResolver, type GraphQLSchema } from 'graphql';
import type { OutboxWriter } from './outbox.js';

/**
 * Settles what each Mutation field wrote to the outbox once it returns: rows it requested after its last flush
 * are flushed now (right after its writes; a mutation that flushes once, after enqueueing, writes both in one
 * transaction), and the relay is woken. A mutation that throws leaves its unflushed rows out: nothing it
 * requested is queued unless it was committed with the writes it flushed before failing.
 */
export function settleOutboxAfterMutations(schema: GraphQLSchema): GraphQLSchema {
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    const resolve = field.resolve ?? defaultFieldResolver;
    field.resolve = async (source, args, context: { jobs?: OutboxWriter }, info) => {
      const { jobs } = context;
      if (!jobs) return resolve(source, args, context, info);
      let result: unknown;
      try {
        result = await resolve(source, args, context, info);
      } catch (error) {
        jobs.discardUnflushed();
        jobs.committed();
        throw error;
      }
      for (const em of new Set(jobs.unflushed().map((entry) => entry.em))) await em.flush();
      jobs.committed();
      return result;
    };
  }
  return schema;
}
