import { Migration } from '@mikro-orm/migrations';

export class Migration20261201143320_disabled_users extends Migration {

  override name = 'Migration20261201143320_disabled_users';

  override up(): void | Promise<void> {
    this.addSql(`alter table "users" add "disabled" boolean not null default false;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "users" drop column "disabled";`);
  }

}
