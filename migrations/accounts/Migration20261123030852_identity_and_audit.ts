import { Migration } from '@mikro-orm/migrations';

export class Migration20261123030852_identity_and_audit extends Migration {

  override name = 'Migration20261123030852_identity_and_audit';

  override up(): void | Promise<void> {
    this.addSql(`create table "audit_record" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "actor_id" uuid null, "operation" varchar(100) not null, "entity_type" varchar(100) null, "entity_id" varchar(100) null, "outcome" varchar(40) not null, "request_id" varchar(128) not null, primary key ("id"));`);
    this.addSql(`create index "audit_record_created_at_index" on "audit_record" ("created_at");`);

    this.addSql(`create table "refresh_token" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "user_id" uuid not null, "family_id" uuid not null, "token_hash" varchar(64) not null, "expires_at" timestamptz not null, "used_at" timestamptz null, "revoked_at" timestamptz null, primary key ("id"));`);
    this.addSql(`alter table "refresh_token" add constraint "refresh_token_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "refresh_token_user_id_index" on "refresh_token" ("user_id");`);
    this.addSql(`create index "refresh_token_family_id_index" on "refresh_token" ("family_id");`);

    this.addSql(`alter table "users" add "password_hash" text not null default '', add "roles" text[] not null default '{customer}';`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "audit_record" cascade;`);
    this.addSql(`drop table if exists "refresh_token" cascade;`);

    this.addSql(`alter table "users" drop column "password_hash", drop column "roles";`);
  }

}
