import { describe, expect, it } from '@jest/globals';
import { BadUserInputError } from '../errors/errors.js';
import { decodeCursor, encodeCursor } from './pagination.js';

describe('cursors', () => {
  it('round-trip strings, numbers and dates', () => {
    const when = new Date('2026-01-02T03:04:05.678Z');
    expect(decodeCursor(encodeCursor('price:asc', [1999, 'b1', when]), 'price:asc', 3)).toEqual([1999, 'b1', when]);
  });

  it.each([
    ['garbage', 'not base64 JSON'],
    [Buffer.from('{"a":1}').toString('base64url'), 'not an array'],
    [encodeCursor('name:asc', ['x', 'id']), 'another ordering'],
    [encodeCursor('price:asc', [1]), 'the wrong length'],
    [Buffer.from(JSON.stringify(['price:asc', { d: 'yesterday' }, 'id'])).toString('base64url'), 'an invalid date'],
    [Buffer.from(JSON.stringify(['price:asc', null, 'id'])).toString('base64url'), 'a null value'],
  ])('refuse %s (%s) as bad input', (cursor) => {
    expect(() => decodeCursor(cursor, 'price:asc', 2)).toThrow(BadUserInputError);
  });
});
