import type { Opt } from '@mikro-orm/core';
import { Entity, Property } from '@mikro-orm/decorators/legacy';
import { Directive, Field, ObjectType } from 'type-graphql';
import { BaseEntity } from '../../../shared/store/base.entity.js';

@Entity({ tableName: 'users' })
@ObjectType({ description: 'Someone with an account.' })
@Directive('@key(fields: "id")')
@Directive('@cacheControl(maxAge: 60)')
export class User extends BaseEntity {
  /** Stored lower-cased, so uniqueness is case-insensitive. Exposed by a resolver that checks who asks. */
  @Property({ length: 254, unique: true })
  email: string;

  @Property({ length: 40, unique: true })
  @Field({ description: 'Public handle, unique.' })
  // Reviews serves it too (`@provides`), from the copy it keeps on each review.
  @Directive('@shareable')
  username: string;

  @Property({ length: 200 })
  @Field({ description: 'Display name.' })
  name: string;

  /** scrypt hash (see passwords.ts); never exposed. Empty: no password, cannot sign in. */
  @Property({ type: 'text', hidden: true, default: '' })
  passwordHash: string;

  // The database default lets rows from before roles existed migrate as customers.
  @Property({ type: 'text[]', defaultRaw: `'{customer}'` })
  roles: Opt<string[]> = ['customer'];

  /** Set by an admin (`disableUser`): cannot sign in or refresh, `me` is null, and the gateway refuses their writes. */
  @Property({ default: false })
  disabled: Opt<boolean> = false;
}
