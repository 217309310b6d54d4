/**
 * A fragment fan-out: each fragment spreads the next one twice, so `levels` fragments in under
 * 1 KB expand to 2^(levels-1) copies of `leaf`. What a walk that follows every spread chokes on.
 */
export function fanOut(levels: number, on = 'Query', leaf = '__typename', root = 'query { ...F0 }'): string {
  const fragments = Array.from({ length: levels - 1 }, (_, i) => `fragment F${i} on ${on} { ...F${i + 1} ...F${i + 1} }`);
  return [root, ...fragments, `fragment F${levels - 1} on ${on} { ${leaf} }`].join('\n');
}
