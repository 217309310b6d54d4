import {
  GraphQLError,
  Kind,
  visit,
  type ArgumentNode,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type SelectionNode,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';

/**
 * The incremental delivery spec's rule on `@defer` labels: each a string literal (a variable
 * would make a part's label, and which part it is, depend on the request), and no two alike in
 * the document (a client tells its parts apart by label and path). A `null` label is no label.
 */
export const deferLabelsRule: ValidationRule = (context) => {
  const seen = new Map<string, DirectiveNode>();
  return {
    Directive(directive) {
      if (directive.name.value !== 'defer') return;
      const value = directive.arguments?.find((argument) => argument.name.value === 'label')?.value;
      if (!value || value.kind === Kind.NULL) return;
      if (value.kind !== Kind.STRING) {
        context.reportError(new GraphQLError('The label of @defer must be a string literal, not a variable.', { nodes: value }));
        return;
      }
      const first = seen.get(value.value);
      if (first) {
        context.reportError(
          new GraphQLError(`The label "${value.value}" is on more than one @defer: each label must be unique.`, {
            nodes: [first, directive],
          }),
        );
      } else seen.set(value.value, directive);
    },
  };
};

/** The document a deferred plan is made from, and what in it is the gateway's own, never sent to the client. */
export interface DeferredDocument {
  document: DocumentNode;
  /** The labels given to the `@defer`s the client left unlabelled. */
  ownLabels: ReadonlySet<string>;
  /** The response key of the `__typename`s added so that the planner fetches an object whose every selection is conditional. */
  hiddenTypename: string;
}

/**
 * The document a deferred plan is made from: `document` as it asks, made plain for the planner.
 * - A label of the gateway's own on each unlabelled `@defer`, unlike any label the client
 *   chose. The planner carries a `@defer`'s label onto its part, so with every part labelled the
 *   executor finds each part's fragment in the document by path and label alone, however many
 *   `@defer`s share a path (unlabelled, two at one path would look alike).
 * - No selection a literal `@skip(if: true)` or `@include(if: false)` leaves out: with defer
 *   enabled, Apollo's planner may fetch such a field all the same (seen: a field behind
 *   `@include(if: false)` in a fragment), and its errors (an auth refusal) would reach the
 *   client.
 * - A `__typename` under a key of the gateway's own in each selection set with no field
 *   that is always there (only fragments, or fields under `@skip`/`@include`): with defer
 *   enabled, the planner drops an object whose every selection is left out or conditional
 *   (`category { slug @include(if: $no) }`, or a field holding only a deferred fragment
 *   that is), where the client must get `{}`; with it, the object is fetched.
 */
export function deferredDocument(document: DocumentNode): DeferredDocument {
  const labels = new Set<string>();
  visit(document, {
    Directive(directive) {
      const value = directive.name.value === 'defer' && directive.arguments?.find((a) => a.name.value === 'label')?.value;
      if (value && value.kind === Kind.STRING) labels.add(value.value);
    },
  });
  let prefix = '__tessera_defer_';
  while ([...labels].some((label) => label.startsWith(prefix))) prefix += '_';
  const keys = new Set<string>();
  visit(document, { Field: (field) => void keys.add(field.alias?.value ?? field.name.value) });
  let hiddenTypename = '__tessera_typename';
  while (keys.has(hiddenTypename)) hiddenTypename += '_';
  const typename: FieldNode = {
    kind: Kind.FIELD,
    alias: { kind: Kind.NAME, value: hiddenTypename },
    name: { kind: Kind.NAME, value: '__typename' },
  };
  const ownLabels = new Set<string>();
  const labelled = visit(document, {
    Directive(directive): DirectiveNode | undefined {
      if (directive.name.value !== 'defer') return undefined;
      const value = directive.arguments?.find((a) => a.name.value === 'label')?.value;
      if (value && value.kind !== Kind.NULL) return undefined;
      const label = `${prefix}${ownLabels.size}`;
      ownLabels.add(label);
      const argument: ArgumentNode = {
        kind: Kind.ARGUMENT,
        name: { kind: Kind.NAME, value: 'label' },
        value: { kind: Kind.STRING, value: label },
      };
      return { ...directive, arguments: [...(directive.arguments ?? []).filter((a) => a.name.value !== 'label'), argument] };
    },
    SelectionSet: {
      leave(set: SelectionSetNode): SelectionSetNode | undefined {
        const kept = set.selections.filter((selection) => !leftOutLiterally(selection));
        const alwaysThere = kept.some((selection) => selection.kind === Kind.FIELD && !selection.directives?.some(isCondition));
        if (alwaysThere && kept.length === set.selections.length) return undefined;
        return { ...set, selections: alwaysThere ? kept : [...kept, typename] };
      },
    },
  });
  return { document: labelled, ownLabels, hiddenTypename };
}

function isCondition(directive: DirectiveNode): boolean {
  return directive.name.value === 'skip' || directive.name.value === 'include';
}

/** Whether a literal `@skip(if: true)` or `@include(if: false)` leaves this selection out, whatever the variables. */
function leftOutLiterally(selection: SelectionNode): boolean {
  return (selection.directives ?? []).some((directive) => {
    const name = directive.name.value;
    const value = directive.arguments?.find((a) => a.name.value === 'if')?.value;
    if (value?.kind !== Kind.BOOLEAN) return false;
    return (name === 'skip' && value.value) || (name === 'include' && !value.value);
  });
}
