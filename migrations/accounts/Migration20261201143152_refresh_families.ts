import { Migration } from '@mikro-orm/migrations';

export class Migration20261201143152_refresh_families extends Migration {

  override name = 'Migration20261201143152_refresh_families';

  override up(): void | Promise<void> {
    this.addSql(`create table "refresh_family" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "user_id" uuid not null, "revoked_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "refresh_family_user_id_index" on "refresh_family" ("user_id");`);
    // Every existing login becomes a family, revoked if any of its tokens was.
    this.addSql(`insert into "refresh_family" ("id", "created_at", "updated_at", "user_id", "revoked_at") select "family_id", min("created_at"), max("updated_at"), min("user_id"::text)::uuid, max("revoked_at") from "refresh_token" group by "family_id";`);

    this.addSql(`alter table "refresh_token" drop column "revoked_at";`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "refresh_token" add "revoked_at" timestamptz(6) null;`);
    this.addSql(`update "refresh_token" t set "revoked_at" = f."revoked_at" from "refresh_family" f where f."id" = t."family_id";`);

    this.addSql(`drop table if exists "refresh_family" cascade;`);
  }

}
