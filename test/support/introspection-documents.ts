import { getIntrospectionQuery } from 'graphql';

/**
 * The introspection documents real tools send, for the limits to admit. GraphiQL and GraphQL
 * Code Generator (through @graphql-tools/url-loader) use graphql-js's `getIntrospectionQuery`
 * with some of its options; the test of the URL loader sends whatever it sends. Apollo
 * Sandbox's own document is not published: `apolloSandbox` is an equivalent built from what
 * it asks for (the schema's description, repeatable directives, `specifiedByURL`, deprecated
 * arguments and input fields) on the `TypeRef` of Apollo's published introspection (Rover's,
 * 7 `ofType` levels).
 */
export const introspectionDocuments: Record<string, string> = {
  'graphql-js, every option': getIntrospectionQuery({
    descriptions: true,
    specifiedByUrl: true,
    directiveIsRepeatable: true,
    schemaDescription: true,
    inputValueDeprecation: true,
    oneOf: true,
    experimentalDirectiveDeprecation: true,
  }),
  'graphql-js, defaults': getIntrospectionQuery(),
  // GraphiQL 5 (@graphiql/react, as bundled by /graphiql) asks for deprecated inputs and the schema's description.
  GraphiQL: getIntrospectionQuery({ inputValueDeprecation: true, schemaDescription: true }),
  'Apollo Sandbox': `query IntrospectionQuery {
  __schema {
    description
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives {
      name
      description
      isRepeatable
      locations
      args(includeDeprecated: true) { ...InputValue }
    }
  }
}
fragment FullType on __Type {
  kind
  name
  description
  specifiedByURL
  fields(includeDeprecated: true) {
    name
    description
    args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef }
    isDeprecated
    deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name
  description
  type { ...TypeRef }
  defaultValue
  isDeprecated
  deprecationReason
}
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`,
};

/** Introspection no tool sends, each refused with its code. */
export const abusiveIntrospection: Record<string, { query: string; code: string }> = {
  'an ofType chain deeper than any tool asks': {
    query: `{ __schema { types { fields { type { ${'ofType { '.repeat(14)}name${' }'.repeat(14)} } } } } }`,
    code: 'MAX_INTROSPECTION_DEPTH_EXCEEDED',
  },
  'lists nested past the standard query (types { fields { type { fields': {
    query: `{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }`,
    code: 'MAX_INTROSPECTION_LISTS_EXCEEDED',
  },
  '__type trees repeated with aliases': {
    query: `{ ${Array.from({ length: 8 }, (_, i) => `t${i}: __type(name: "Query") { fields { name } }`).join(' ')} }`,
    code: 'MAX_INTROSPECTION_FIELDS_EXCEEDED',
  },
  'introspection fields multiplied by fragments': {
    query: `{ ...F0 } ${Array.from({ length: 3 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join(' ')} fragment F3 on Query { __schema { types { name } } }`,
    code: 'MAX_INTROSPECTION_FIELDS_EXCEEDED',
  },
  'the standard lists multiplied by aliases': {
    query: `{ __schema { types { ${Array.from({ length: 15 }, (_, i) => `f${i}: fields { args { name type { name } } }`).join(' ')} } } }`,
    code: 'INTROSPECTION_COST_EXCEEDED',
  },
};
