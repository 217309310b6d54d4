import { describe, expect, it } from '@jest/globals';
import { buildSchema, parse, print, validate } from 'graphql';
import { deferLabelsRule, deferredDocument } from './deferred-document.js';

const schema = buildSchema(`
  directive @defer(label: String, if: Boolean! = true) on FRAGMENT_SPREAD | INLINE_FRAGMENT
  type Query { a: Int b: Int }
`);
const messages = (query: string) => validate(schema, parse(query), [deferLabelsRule]).map((error) => error.message);

describe('deferLabelsRule', () => {
  it('admits literal labels, each once, and no label or a null one', () => {
    expect(messages('{ ... @defer(label: "x") { a } ... @defer { b } ... @defer(label: null) { a } }')).toEqual([]);
  });

  it('refuses a label from a variable and one used twice, through fragments too', () => {
    expect(messages('query($l: String) { ... @defer(label: $l) { a } }')).toEqual([
      'The label of @defer must be a string literal, not a variable.',
    ]);
    expect(messages('{ ...F ... @defer(label: "x") { b } } fragment F on Query { ... @defer(label: "x") { a } }')).toEqual([
      'The label "x" is on more than one @defer: each label must be unique.',
    ]);
  });
});

describe('deferredDocument', () => {
  it('labels each unlabelled @defer with a label of its own, unlike any of the client', () => {
    const { document, ownLabels } = deferredDocument(
      parse(
        '{ ... @defer { a } ... @defer(label: "__tessera_defer_0") { b } ...F } fragment F on Query { ... @defer(label: null, if: false) { a } }',
      ),
    );
    expect([...ownLabels]).toEqual(['__tessera_defer__0', '__tessera_defer__1']);
    expect(print(document)).toContain('@defer(label: "__tessera_defer__0")');
    expect(print(document)).toContain('@defer(label: "__tessera_defer_0")');
    expect(print(document)).toContain('@defer(if: false, label: "__tessera_defer__1")');
    expect(validate(schema, document, [deferLabelsRule])).toEqual([]);
  });

  it('takes out what a literal @skip(if: true) or @include(if: false) leaves out, and nothing a variable decides', () => {
    const { document, hiddenTypename } = deferredDocument(
      parse(
        'query($v: Boolean!) { a @include(if: false) b ...F } fragment F on Query { b @skip(if: true) ... @skip(if: true) { a } b @skip(if: $v) }',
      ),
    );
    expect(hiddenTypename).toBe('__tessera_typename');
    expect(print(document)).toBe(
      print(parse('query($v: Boolean!) { b ...F } fragment F on Query { b @skip(if: $v) __tessera_typename: __typename }')),
    );
  });

  it('adds a __typename of its own where no field is always there, under a key no field of the client has', () => {
    const { document, hiddenTypename } = deferredDocument(
      parse('{ a { b @include(if: $x) } c { ... @defer { d } } e { f } __tessera_typename: a { b } }'),
    );
    expect(hiddenTypename).toBe('__tessera_typename_');
    expect(print(document)).toBe(
      print(
        parse(
          '{ a { b @include(if: $x) __tessera_typename_: __typename } c { ... @defer(label: "__tessera_defer_0") { d } __tessera_typename_: __typename } e { f } __tessera_typename: a { b } }',
        ),
      ),
    );
  });
});
