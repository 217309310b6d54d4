import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { repoRoot } from '../../shared/config/paths.js';
import { composeSubgraphs, routingOf } from './supergraph.js';

describe('what the gateway learns from a supergraph', () => {
  it('names each subgraph with its routing URL, and the one answering the caller check (`me` and `user(id)`)', async () => {
    const joined = routingOf(await readFile(join(repoRoot, 'supergraph.graphql'), 'utf8'));
    expect(joined.filter((subgraph) => subgraph.answersCallerCheck).map((subgraph) => subgraph.name)).toEqual(['accounts']);
    expect(joined.every((subgraph) => /^http:\/\/127\.0\.0\.1:\d+\/graphql$/.test(subgraph.url))).toBe(true);
  });

  it('finds the identity subgraph by what it resolves, whatever it is called', () => {
    const federation = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])';
    const { supergraphSdl } = composeSubgraphs([
      {
        name: 'people',
        url: 'http://people/graphql',
        sdl: `${federation} type Query { me: User user(id: ID!): User } type User @key(fields: "id") { id: ID! }`,
      },
      { name: 'shop', url: 'http://shop/graphql', sdl: `${federation} type Query { things: [String] }` },
    ]);
    expect(routingOf(supergraphSdl!)).toEqual([
      { name: 'people', url: 'http://people/graphql', answersCallerCheck: true },
      { name: 'shop', url: 'http://shop/graphql', answersCallerCheck: false },
    ]);
  });
});
