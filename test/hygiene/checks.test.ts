import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Entity, Property } from '@mikro-orm/decorators/legacy';
import { entityDrift, staleSchemaFiles } from '../../tooling/checks.js';
import { BaseEntity } from '../../shared/store/base.entity.js';
import { registryRoutes } from '../../tooling/compose.js';
import { repoRoot } from '../../shared/config/paths.js';
import { catalog } from '../../subgraphs/catalog/index.js';
import { subgraphs } from '../../subgraphs/index.js';

/** An entity no migration creates: what a developer has after editing entities and forgetting the migration. */
@Entity({ tableName: 'drift_probe' })
class DriftProbe extends BaseEntity {
  @Property({ length: 50 })
  note: string;
}

const routing = registryRoutes({}, subgraphs);

describe('npm run check', () => {
  it('finds an entity its migrations do not create', async () => {
    const drift = await entityDrift({ ...catalog, entities: [...catalog.entities, DriftProbe] });
    expect(drift).toMatch(/create table "drift_probe"/);
  });

  it('passes the repository as committed: supergraph.graphql and schema.graphql are up to date', async () => {
    expect(await staleSchemaFiles(subgraphs, routing)).toEqual({ errors: [], stale: [] });
  });

  describe('on a copy with an edited schema file', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tessera-check-'));
      await copyFile(join(repoRoot, 'supergraph.graphql'), join(dir, 'supergraph.graphql'));
      await writeFile(join(dir, 'schema.graphql'), 'type Query { stale: Boolean }\n');
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('names the stale file', async () => {
      expect(await staleSchemaFiles(subgraphs, routing, dir)).toEqual({ errors: [], stale: ['schema.graphql'] });
    });
  });
});
