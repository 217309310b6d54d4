import { Migration } from '@mikro-orm/migrations';

export class Migration20261202050040_rating_summary_and_outbox extends Migration {

  override name = 'Migration20261202050040_rating_summary_and_outbox';

  override up(): void | Promise<void> {
    this.addSql(`create table "outbox_message" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "kind" varchar(10) not null, "name" varchar(200) not null, "payload" jsonb not null, "relayed_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "outbox_message_relayed_at_created_at_index" on "outbox_message" ("relayed_at", "created_at");`);

    this.addSql(`create table "rating_summary" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "product_id" uuid not null, "review_count" int not null, "rating_sum" int not null, primary key ("id"));`);
    this.addSql(`alter table "rating_summary" add constraint "rating_summary_product_id_unique" unique ("product_id");`);
    // The reviews a store already holds, summarised once.
    this.addSql(`insert into "rating_summary" ("id", "created_at", "updated_at", "product_id", "review_count", "rating_sum") select gen_random_uuid(), now(), now(), "product_id", count(*)::int, sum("rating")::int from "review" group by "product_id";`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "outbox_message" cascade;`);
    this.addSql(`drop table if exists "rating_summary" cascade;`);
  }

}
