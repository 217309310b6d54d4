import type { Identity } from './identity.js';

/** The roles Tessera knows; a user has one or more. */
const ROLES = ['customer', 'staff', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What each role may do, as scopes. Schemas declare the scopes a field needs
 * (`@requiresScopes`); tokens carry the caller's scopes, derived from roles here.
 */
const ROLE_SCOPES: Record<Role, readonly string[]> = {
  customer: ['reviews:write'],
  staff: ['reviews:write', 'catalog:write', 'inventory:write', 'reviews:moderate'],
  admin: ['reviews:write', 'catalog:write', 'inventory:write', 'reviews:moderate', 'accounts:admin', 'audit:read'],
};

function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Scopes granted by a set of roles (unknown roles grant nothing). */
export function scopesOf(roles: readonly string[]): string[] {
  return [...new Set(roles.filter(isRole).flatMap((role) => ROLE_SCOPES[role]))].sort();
}

export function hasScope(user: Identity | null, scope: string): boolean {
  return Boolean(user?.scopes.includes(scope));
}
