import { Migration } from '@mikro-orm/migrations';

export class Migration20261123024722_initial extends Migration {

  override name = 'Migration20261123024722_initial';

  override up(): void | Promise<void> {
    this.addSql(`create table "stock" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "product_id" uuid not null, "quantity" int not null, primary key ("id"));`);
    this.addSql(`alter table "stock" add constraint "stock_product_id_unique" unique ("product_id");`);

    this.addSql(`alter table "stock" add constraint "stock_quantity_not_negative" check (quantity >= 0);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "stock" cascade;`);
  }

}
