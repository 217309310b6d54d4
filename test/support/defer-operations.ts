import { Kind, parse, print, visit, type DirectiveNode, type SelectionNode, type SelectionSetNode } from 'graphql';
import { mulberry32 } from './operation-generator.js';

/** A payload of an incremental response as a client receives it (`deferSpec=20220824`). */
export interface IncrementalPayload {
  data?: unknown;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  incremental?: { data: unknown; path: (string | number)[]; label?: string; errors?: IncrementalPayload['errors'] }[];
  hasNext: boolean;
  extensions?: Record<string, unknown>;
}

/**
 * `query` with some of its selections deferred, the same for the same seed: in a selection set of
 * the operation (fragment definitions are left alone: a label must name one place), some of its
 * fields moved, in order, into `... @defer` (labelled or not, with `if: true` now and then), which
 * may nest. What the client gets merged is then the answer to `query`.
 */
export function withDefers(query: string, seed: number): string {
  const random = mulberry32(seed);
  let labels = 0;
  const document = visit(parse(query), {
    FragmentDefinition: () => false,
    SelectionSet: {
      leave(set: SelectionSetNode): SelectionSetNode | undefined {
        const fields = set.selections.filter((s) => s.kind === Kind.FIELD);
        if (!fields.length || random() > 0.35) return undefined;
        const moved = new Set<SelectionNode>(fields.filter(() => random() < 0.5));
        if (!moved.size) moved.add(fields[Math.floor(random() * fields.length)]!);
        const kept = set.selections.filter((s) => !moved.has(s));
        // Half of them labelled, each its own label (the spec wants labels unique); the rest unlabelled, several at one path at times.
        const label = {
          kind: Kind.ARGUMENT,
          name: { kind: Kind.NAME, value: 'label' },
          value: { kind: Kind.STRING, value: `d${labels++}` },
        };
        const labelled =
          random() < 0.2
            ? [label, { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'if' }, value: { kind: Kind.BOOLEAN, value: true } }]
            : [label];
        const args = random() < 0.5 ? labelled.slice(1) : labelled;
        const defer: DirectiveNode = { kind: Kind.DIRECTIVE, name: { kind: Kind.NAME, value: 'defer' }, arguments: args as never };
        const fragment: SelectionNode = {
          kind: Kind.INLINE_FRAGMENT,
          directives: [defer],
          selectionSet: { kind: Kind.SELECTION_SET, selections: set.selections.filter((s) => moved.has(s)) },
        };
        return { ...set, selections: [...kept, fragment] };
      },
    },
  });
  return print(document);
}

/** The payloads of a multipart (`deferSpec=20220824`) body: each part's JSON between `--graphql` delimiters, the last closed with `--`. */
export function multipartPayloads(text: string): IncrementalPayload[] {
  return text
    .split('\r\n--graphql')
    .slice(1, -1)
    .map((part) => JSON.parse(part.slice(part.indexOf('\r\n\r\n') + 4)) as IncrementalPayload);
}

/** The result a client builds from the payloads: each item's data merged at its path (objects key by key, lists item by item), its errors added. */
export function mergePayloads(payloads: IncrementalPayload[]): { data: unknown; errors: NonNullable<IncrementalPayload['errors']> } {
  const data = structuredClone(payloads[0]?.data ?? null);
  const errors = [...(payloads[0]?.errors ?? [])];
  const merge = (target: unknown, source: unknown): unknown => {
    if (target === null || source === null || typeof target !== 'object' || typeof source !== 'object') return source;
    if (Array.isArray(target) && Array.isArray(source)) return target.map((item, i) => (i < source.length ? merge(item, source[i]) : item));
    const into = target as Record<string, unknown>;
    for (const [key, value] of Object.entries(source as Record<string, unknown>)) into[key] = key in into ? merge(into[key], value) : value;
    return into;
  };
  for (const payload of payloads.slice(1)) {
    for (const item of payload.incremental ?? []) {
      let at: unknown = data;
      for (const key of item.path) at = (at as Record<string | number, unknown>)[key];
      if (item.data) merge(at, item.data);
      errors.push(...(item.errors ?? []));
    }
  }
  return { data, errors };
}
