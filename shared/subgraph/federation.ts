import { Kind, parse, visit, type DirectiveNode, type DocumentNode, type GraphQLDirective } from 'graphql';

/**
 * The Federation 2 directives a subgraph may write unqualified, and the lowest federation
 * version that defines each: the one table the derived `@link` is read from (the README's
 * "Federation" section lists the same). `@override(label:)` needs more than `@override` itself.
 */
export const FEDERATION_DIRECTIVES = {
  key: '2.0',
  requires: '2.0',
  provides: '2.0',
  external: '2.0',
  shareable: '2.0',
  inaccessible: '2.0',
  override: '2.0',
  tag: '2.0',
  extends: '2.0',
  composeDirective: '2.1',
  interfaceObject: '2.3',
  authenticated: '2.5',
  requiresScopes: '2.5',
  policy: '2.6',
  context: '2.8',
  fromContext: '2.8',
  cost: '2.9',
  listSize: '2.9',
} as const satisfies Record<string, FederationVersion>;

export type FederationDirectiveName = keyof typeof FEDERATION_DIRECTIVES;
export type FederationVersion = `2.${number}`;

/** Progressive override (`@override(from:, label:)`) came in 2.7. */
const OVERRIDE_LABEL_VERSION: FederationVersion = '2.7';
/** Entity interfaces (`@key` on an interface) came in 2.3. */
const INTERFACE_KEY_VERSION: FederationVersion = '2.3';
const interfaceKinds = new Set<string>([Kind.INTERFACE_TYPE_DEFINITION, Kind.INTERFACE_TYPE_EXTENSION]);
/** Composition 2.14 refuses a link to a later federation spec (STACK.md). */
const MAX_FEDERATION_VERSION: FederationVersion = '2.14';

/** How a subgraph links the federation spec; by default, derived from the SDL (`deriveFederationLink`). */
export interface FederationOptions {
  /** `2.N`; at least what the directives used need. Default: the lowest that defines them. */
  version?: FederationVersion;
  /** Directives imported unqualified (`@key`, …). Default: every federation directive the SDL uses. */
  import?: `@${FederationDirectiveName}`[];
}

interface FederationLink {
  version: FederationVersion;
  imports: `@${FederationDirectiveName}`[];
}

const minor = (version: string) => Number(version.split('.')[1]);
const isFederationDirective = (name: string): name is FederationDirectiveName => Object.hasOwn(FEDERATION_DIRECTIVES, name);

/** What the directives used need: every federation directive applied in `document`, and the version defining them all. */
export function federationNeeds(document: DocumentNode, customDirectives: ReadonlySet<string> = new Set()): FederationLink {
  const used = new Set<FederationDirectiveName>();
  let version: FederationVersion = '2.0';
  const need = (v: FederationVersion) => {
    if (minor(v) > minor(version)) version = v;
  };
  visit(document, {
    Directive(node: DirectiveNode, _key, _parent, _path, ancestors) {
      // The qualified spelling (`@federation__tag`) needs no import, but still its version.
      const qualified = node.name.value.startsWith('federation__');
      const name = qualified ? node.name.value.slice('federation__'.length) : node.name.value;
      // A subgraph's own directive of the same name (given in `directives`) is not federation's.
      if (!isFederationDirective(name) || (!qualified && customDirectives.has(name))) return;
      if (!qualified) used.add(name);
      need(FEDERATION_DIRECTIVES[name]);
      if (name === 'override' && node.arguments?.some((arg) => arg.name.value === 'label')) need(OVERRIDE_LABEL_VERSION);
      // The node holding the directives array is the last ancestor.
      const holder = ancestors[ancestors.length - 1];
      if (name === 'key' && holder && 'kind' in holder && interfaceKinds.has(holder.kind)) need(INTERFACE_KEY_VERSION);
    },
  });
  // In the table's order, so the printed link reads the same from one build to the next.
  const imports = (Object.keys(FEDERATION_DIRECTIVES) as FederationDirectiveName[])
    .filter((name) => used.has(name))
    .map((name) => `@${name}` as const);
  return { version, imports };
}

/**
 * The subgraph's federation link: what its SDL needs, or what it asked for. An explicit
 * version below what the directives used need, or past what composition accepts, and an
 * explicit import list that leaves out a directive the SDL uses, are refused here with a
 * message naming the fix, rather than as "Unknown directive" from deep inside @apollo/subgraph.
 */
function resolveFederationLink(subgraph: string, needs: FederationLink, options: FederationOptions = {}): FederationLink {
  const version = options.version ?? needs.version;
  if (!/^2\.\d+$/.test(version) || minor(version) > minor(MAX_FEDERATION_VERSION)) {
    throw new Error(`${subgraph}: federation.version "${version}" is not one composition accepts (2.0 to ${MAX_FEDERATION_VERSION}).`);
  }
  const imports = options.import ?? needs.imports;
  for (const name of imports) {
    const bare = name.slice(1);
    if (!isFederationDirective(bare))
      throw new Error(
        `${subgraph}: federation.import names "${name}", which is not a federation directive (known: ${Object.keys(FEDERATION_DIRECTIVES)
          .map((d) => `@${d}`)
          .join(', ')}).`,
      );
  }
  const missing = needs.imports.filter((name) => !imports.includes(name));
  if (missing.length)
    throw new Error(`${subgraph}: the schema uses ${missing.join(', ')}, which federation.import leaves out; add them or drop the option.`);
  const required = [needs.version, ...imports.map((name) => FEDERATION_DIRECTIVES[name.slice(1) as FederationDirectiveName])].reduce(
    (a, b) => (minor(b) > minor(a) ? b : a),
  );
  if (minor(version) < minor(required))
    throw new Error(
      `${subgraph}: federation.version ${version} is below ${required}, which the directives used and imported need; raise it or drop the option.`,
    );
  return { version, imports };
}

/** `extend schema @link(federation…) …`: the federation link first, then the subgraph's own schema directives. */
export function schemaExtension(link: FederationLink, schemaDirectives: readonly string[] = []): string {
  const federation = `@link(url: "https://specs.apollo.dev/federation/v${link.version}", import: [${link.imports.map((name) => JSON.stringify(name)).join(', ')}])`;
  return `extend schema ${[federation, ...schemaDirectives].join(' ')}`;
}

/**
 * The SDL TypeGraphQL printed, as @apollo/subgraph gets it: `extend schema` with the
 * federation link (derived, or as the subgraph set it) and its own schema directives, and
 * without the `optional` framework directives it does not apply.
 */
export function withFederationLink(
  subgraph: string,
  sdl: string,
  options: {
    federation?: FederationOptions;
    directives?: readonly GraphQLDirective[];
    schemaDirectives?: readonly string[];
    optional?: Record<string, string[]>;
  },
): DocumentNode {
  const document = withoutUnusedDirectives(parse(sdl), options.optional ?? {});
  const schemaDirectives = options.schemaDirectives ?? [];
  const own = new Set((options.directives ?? []).map((directive) => directive.name));
  const needs = federationNeeds(
    { ...document, definitions: [...document.definitions, ...parseSchemaDirectives(subgraph, schemaDirectives).definitions] },
    own,
  );
  const link = resolveFederationLink(subgraph, needs, options.federation);
  return { ...document, definitions: [...parse(schemaExtension(link, schemaDirectives)).definitions, ...document.definitions] };
}

/** The schema directives given as text, parsed once (so a typo is an error naming the subgraph, not a composition failure). */
function parseSchemaDirectives(subgraph: string, schemaDirectives: readonly string[]): DocumentNode {
  if (!schemaDirectives.length) return { kind: Kind.DOCUMENT, definitions: [] };
  try {
    return parse(`extend schema ${schemaDirectives.join(' ')}`);
  } catch (error) {
    // eslint-disable-next-line preserve-caught-error -- the message carries the parse error; as a cause the log would repeat it
    throw new Error(`${subgraph}: schemaDirectives do not parse: ${(error as Error).message}`);
  }
}

/**
 * Drops the definitions of framework directives (and the types only their arguments use) that
 * nothing in the document applies: a subgraph's SDL shows what it declares, not what Tessera
 * could have offered it.
 */
function withoutUnusedDirectives(document: DocumentNode, optional: Record<string, string[]>): DocumentNode {
  const applied = new Set<string>();
  visit(document, { Directive: (node) => void applied.add(node.name.value) });
  const drop = new Set<string>();
  for (const [directive, types] of Object.entries(optional)) if (!applied.has(directive)) [directive, ...types].forEach((n) => drop.add(n));
  if (!drop.size) return document;
  return {
    ...document,
    definitions: document.definitions.filter(
      (definition) =>
        !(
          (definition.kind === Kind.DIRECTIVE_DEFINITION || definition.kind === Kind.ENUM_TYPE_DEFINITION) &&
          drop.has(definition.name.value)
        ),
    ),
  };
}
