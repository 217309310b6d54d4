import { Kind, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode, type FieldNode } from 'graphql';

/**
 * Visits every field of an operation with its depth, following fragment spreads (each spread
 * at most once per path: validation has refused cycles, this guards anyway).
 */
export function walkFields(
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  visit: (field: FieldNode, depth: number) => void,
): void {
  const walk = (selectionSet: SelectionSetNode, depth: number, seen: Set<string>) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        visit(selection, depth);
        if (selection.selectionSet) walk(selection.selectionSet, depth + 1, seen);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet, depth, seen);
      } else {
        const fragment = fragments[selection.name.value];
        if (fragment && !seen.has(fragment.name.value)) walk(fragment.selectionSet, depth, new Set(seen).add(fragment.name.value));
      }
    }
  };
  walk(operation.selectionSet, 1, new Set());
}

export function fragmentsOf(document: { definitions: readonly { kind: string }[] }): Record<string, FragmentDefinitionNode> {
  return Object.fromEntries(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
}
