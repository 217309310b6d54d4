import { defaultFieldResolver, isObjectType, valueFromASTUntyped, type ConstDirectiveNode, type GraphQLSchema } from 'graphql';
import type { SubgraphContext } from './context.js';
import { ForbiddenError, UnauthenticatedError } from '../errors/errors.js';

/** What a field requires, from Federation's `@authenticated` and `@requiresScopes` on it or its type. */
interface Requirement {
  authenticated: boolean;
  /** Alternatives, each a set of scopes that must all be held: `[["a", "b"], ["c"]]` = (a and b) or c. */
  scopes: string[][];
}

function requirementOf(directives: readonly ConstDirectiveNode[] | undefined): Requirement | undefined {
  let requirement: Requirement | undefined;
  for (const directive of directives ?? []) {
    if (directive.name.value === 'authenticated') {
      requirement = { authenticated: true, scopes: requirement?.scopes ?? [] };
    }
    if (directive.name.value === 'requiresScopes') {
      const argument = directive.arguments?.find((arg) => arg.name.value === 'scopes');
      const scopes = argument ? (valueFromASTUntyped(argument.value) as string[][]) : [];
      requirement = { authenticated: true, scopes: [...(requirement?.scopes ?? []), ...scopes] };
    }
  }
  return requirement;
}

function combine(a: Requirement | undefined, b: Requirement | undefined): Requirement | undefined {
  if (!a) return b;
  if (!b) return a;
  return { authenticated: true, scopes: [...a.scopes, ...b.scopes] };
}

function check(requirement: Requirement, context: SubgraphContext, coordinate: string): void {
  const user = context.user;
  if (!user) throw new UnauthenticatedError(`Sign in to use ${coordinate}.`);
  if (requirement.scopes.length && !requirement.scopes.some((all) => all.every((scope) => user.scopes.includes(scope)))) {
    const needed = requirement.scopes.map((all) => all.join(' and ')).join(', or ');
    throw new ForbiddenError(`${coordinate} needs the scope ${needed}.`);
  }
}

/**
 * Enforces the authorization the schema declares, in the subgraph itself: every field
 * carrying `@authenticated` or `@requiresScopes` (or on a type that does) checks the caller
 * before it resolves. Because the check sits on the field, no path reaches it unchecked:
 * not a direct subgraph call, not `_entities`. A refused field resolves to an error at its
 * path (null if nullable); the rest of the response stands.
 */
export function enforceAuthorization(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const typeRequirement = requirementOf([type.astNode, ...type.extensionASTNodes].flatMap((node) => node?.directives ?? []));
    for (const field of Object.values(type.getFields())) {
      const requirement = combine(typeRequirement, requirementOf(field.astNode?.directives));
      if (!requirement) continue;
      const resolve = field.resolve ?? defaultFieldResolver;
      const coordinate = `${type.name}.${field.name}`;
      field.resolve = (source, args, context: SubgraphContext, info) => {
        check(requirement, context, coordinate);
        return resolve(source, args, context, info);
      };
      // A Subscription field is checked when subscribed to as well, so a refused caller never starts listening.
      const { subscribe } = field;
      if (subscribe) {
        field.subscribe = (source, args, context: SubgraphContext, info) => {
          check(requirement, context, coordinate);
          return subscribe(source, args, context, info);
        };
      }
    }
  }
  return schema;
}
