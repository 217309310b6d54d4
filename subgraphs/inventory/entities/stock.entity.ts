import { Check, Entity, Property } from '@mikro-orm/decorators/legacy';
import { BaseEntity } from '../../../shared/store/base.entity.js';

/** How many of a product are on hand. The check constraint backs up adjustStock's guard. */
@Entity()
@Check({ name: 'stock_quantity_not_negative', expression: 'quantity >= 0' })
export class Stock extends BaseEntity {
  @Property({ type: 'uuid', unique: true })
  productId: string;

  @Property({ type: 'integer' })
  quantity: number;
}
