import { Migration } from '@mikro-orm/migrations';

export class Migration20261123024713_initial extends Migration {

  override name = 'Migration20261123024713_initial';

  override up(): void | Promise<void> {
    this.addSql(`create table "category" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "name" varchar(100) not null, "slug" varchar(100) not null, primary key ("id"));`);
    this.addSql(`alter table "category" add constraint "category_slug_unique" unique ("slug");`);

    this.addSql(`create table "product" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "upc" varchar(12) not null, "name" varchar(200) not null, "description" text not null default '', "price_amount" int not null, "price_currency" varchar(3) not null, "weight" int not null, "category_id" uuid not null, primary key ("id"));`);
    this.addSql(`alter table "product" add constraint "product_upc_unique" unique ("upc");`);
    this.addSql(`create index "product_category_id_index" on "product" ("category_id");`);

    this.addSql(`alter table "product" add constraint "product_category_id_foreign" foreign key ("category_id") references "category" ("id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "product" drop constraint "product_category_id_foreign";`);

    this.addSql(`drop table if exists "category" cascade;`);
    this.addSql(`drop table if exists "product" cascade;`);
  }

}
