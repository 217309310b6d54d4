import { Migration } from '@mikro-orm/migrations';

export class Migration20261123025328_initial extends Migration {

  override name = 'Migration20261123025328_initial';

  override up(): void | Promise<void> {
    this.addSql(`create table "review" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "product_id" uuid not null, "author_id" uuid not null, "author_username" varchar(40) not null, "body" text not null, "rating" smallint not null, primary key ("id"));`);
    this.addSql(`create index "review_author_id_created_at_index" on "review" ("author_id", "created_at");`);
    this.addSql(`create index "review_product_id_created_at_index" on "review" ("product_id", "created_at");`);

    this.addSql(`alter table "review" add constraint "review_rating_range" check (rating >= 1 and rating <= 5);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "review" cascade;`);
  }

}
