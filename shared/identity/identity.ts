/** Who is calling, as the gateway established it: what both the gateway and the subgraphs know of a caller. */
export interface Identity {
  userId: string;
  username: string;
  roles: string[];
  scopes: string[];
}
