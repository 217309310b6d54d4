import { Migration } from '@mikro-orm/migrations';

export class Migration20261202044129_outbox extends Migration {

  override name = 'Migration20261202044129_outbox';

  override up(): void | Promise<void> {
    this.addSql(`create table "outbox_message" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "kind" varchar(10) not null, "name" varchar(200) not null, "payload" jsonb not null, "relayed_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "outbox_message_relayed_at_created_at_index" on "outbox_message" ("relayed_at", "created_at");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "outbox_message" cascade;`);
  }

}
