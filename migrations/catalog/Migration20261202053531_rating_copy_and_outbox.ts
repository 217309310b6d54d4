import { Migration } from '@mikro-orm/migrations';

export class Migration20261202053531_rating_copy_and_outbox extends Migration {

  override name = 'Migration20261202053531_rating_copy_and_outbox';

  override up(): void | Promise<void> {
    this.addSql(`create table "outbox_message" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "kind" varchar(10) not null, "name" varchar(200) not null, "payload" jsonb not null, "relayed_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "outbox_message_relayed_at_created_at_index" on "outbox_message" ("relayed_at", "created_at");`);

    this.addSql(`alter table "product" add "rating_average" double precision not null default 0, add "rating_count" int not null default 0, add "rating_version" bigint null;`);
    this.addSql(`create index "product_rating_average_id_index" on "product" ("rating_average", "id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "outbox_message" cascade;`);

    this.addSql(`drop index "product_rating_average_id_index";`);
    this.addSql(`alter table "product" drop column "rating_average", drop column "rating_count", drop column "rating_version";`);
  }

}
