import { Migration } from '@mikro-orm/migrations';

export class Migration20261123030821_identity_and_audit extends Migration {

  override name = 'Migration20261123030821_identity_and_audit';

  override up(): void | Promise<void> {
    this.addSql(`create table "audit_record" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "actor_id" uuid null, "operation" varchar(100) not null, "entity_type" varchar(100) null, "entity_id" varchar(100) null, "outcome" varchar(40) not null, "request_id" varchar(128) not null, primary key ("id"));`);
    this.addSql(`create index "audit_record_created_at_index" on "audit_record" ("created_at");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "audit_record" cascade;`);
  }

}
