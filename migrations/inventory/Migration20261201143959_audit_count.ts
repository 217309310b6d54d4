import { Migration } from '@mikro-orm/migrations';

export class Migration20261201143959_audit_count extends Migration {

  override name = 'Migration20261201143959_audit_count';

  override up(): void | Promise<void> {
    this.addSql(`alter table "audit_record" add "count" int not null default 1;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "audit_record" drop column "count";`);
  }

}
