import { isInterfaceType, isUnionType, possibleRuntimeTypes, type Schema } from '@apollo/federation-internals';

/** Whether an object of one type satisfies a type condition (`... on T`), by the supergraph's types. */
export interface TypeConditions {
  satisfies(typename: string | undefined, condition: string): boolean;
  /** An interface or a union of the supergraph. */
  isAbstract(typename: string): boolean;
}

/** Read once per supergraph: each interface and union with the object types that implement or belong to it. */
export function typeConditionsOf(schema: Schema): TypeConditions {
  const possible = new Map<string, Set<string>>();
  for (const type of schema.types()) {
    if (isInterfaceType(type) || isUnionType(type)) possible.set(type.name, new Set(possibleRuntimeTypes(type).map((t) => t.name)));
  }
  return {
    satisfies: (typename, condition) =>
      typename !== undefined && (typename === condition || possible.get(condition)?.has(typename) === true),
    isAbstract: (typename) => possible.has(typename),
  };
}
