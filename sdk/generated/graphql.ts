/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type AddReviewInput = {
  body: string;
  productId: string | number;
  /** 1 to 5. */
  rating: number;
};

export type OrderDirection =
  | 'ASC'
  | 'DESC';

/** Inclusive bounds in minor units. */
export type PriceRangeInput = {
  max?: number | null | undefined;
  min?: number | null | undefined;
};

export type ProductFilter = {
  categoryId?: string | number | null | undefined;
  priceRange?: PriceRangeInput | null | undefined;
  /** Case-insensitive match in name or description. */
  search?: string | null | undefined;
};

export type ProductOrder = {
  direction?: OrderDirection;
  field?: ProductOrderField;
};

export type ProductOrderField =
  | 'CREATED_AT'
  | 'NAME'
  | 'PRICE'
  /** Average rating of its reviews (0 without any), as the catalog last heard from reviews. */
  | 'RATING';

export type AddReviewMutationVariables = Exact<{
  input: AddReviewInput;
}>;


export type AddReviewMutation = { addReview: { id: string, rating: number, body: string, createdAt: string, author: { id: string, username: string }, product: { id: string, name: string, averageRating: number | null } } };

export type DeleteReviewMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteReviewMutation = { deleteReview: string };

export type LoginMutationVariables = Exact<{
  email: string;
  password: string;
}>;


export type LoginMutation = { login: { accessToken: string, refreshToken: string, expiresIn: number, user: { id: string, username: string } } };

export type LogoutMutationVariables = Exact<{
  refreshToken?: string | null | undefined;
}>;


export type LogoutMutation = { logout: boolean };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { id: string, username: string, name: string, email: string | null, roles: Array<string> | null } | null };

export type MyReviewsQueryVariables = Exact<{
  first?: number;
  after?: string | null | undefined;
}>;


export type MyReviewsQuery = { me: { id: string, reviews: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { id: string, product: { id: string } } }> } } | null };

export type ProductQueryVariables = Exact<{
  id: string | number;
  reviews?: number;
}>;


export type ProductQuery = { product: { id: string, upc: string, name: string, description: string, weight: number, quantity: number, inStock: boolean, shippingEstimate: number | null, averageRating: number | null, price: { amount: number, currency: string }, category: { id: string, name: string }, reviews: { totalCount: number, edges: Array<{ node: { id: string, rating: number, body: string, createdAt: string, author: { username: string } } }> } } | null };

export type ProductPageQueryVariables = Exact<{
  id: string | number;
  reviews?: number;
}>;


export type ProductPageQuery = { product: { id: string, name: string, description: string, inStock: boolean, price: { amount: number, currency: string } } & ({ averageRating: number | null, reviews: { totalCount: number, edges: Array<{ node: { id: string, rating: number, body: string, author: { username: string } } }> } } | { averageRating?: never, reviews?: never }) | null };

export type ProductPageReviewsFragment = { averageRating: number | null, reviews: { totalCount: number, edges: Array<{ node: { id: string, rating: number, body: string, author: { username: string } } }> } };

export type ProductsQueryVariables = Exact<{
  first: number;
  after?: string | null | undefined;
  filter?: ProductFilter | null | undefined;
  orderBy?: ProductOrder | null | undefined;
}>;


export type ProductsQuery = { products: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { id: string, upc: string, name: string, inStock: boolean, price: { amount: number, currency: string }, category: { name: string } } }> } };

export type RefreshMutationVariables = Exact<{
  refreshToken: string;
}>;


export type RefreshMutation = { refresh: { accessToken: string, refreshToken: string, expiresIn: number } };

export type ReviewAddedSubscriptionVariables = Exact<{
  productId?: string | number | null | undefined;
}>;


export type ReviewAddedSubscription = { reviewAdded: { id: string, rating: number, body: string, createdAt: string, author: { id: string, username: string }, product: { id: string, name: string } } };

export type StockChangedSubscriptionVariables = Exact<{
  productIds?: Array<string | number> | string | number | null | undefined;
}>;


export type StockChangedSubscription = { stockChanged: { quantity: number, inStock: boolean, product: { id: string, name: string, price: { amount: number, currency: string } } } };

export type TopProductsQueryVariables = Exact<{
  first: number;
}>;


export type TopProductsQuery = { topProducts: Array<{ id: string, name: string, inStock: boolean, averageRating: number | null, price: { amount: number, currency: string } }> };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const ProductPageReviewsFragmentDoc = new TypedDocumentString(`
    fragment ProductPageReviews on Product {
  averageRating
  reviews(first: $reviews) {
    totalCount
    edges {
      node {
        id
        rating
        body
        author {
          username
        }
      }
    }
  }
}
    `, {"fragmentName":"ProductPageReviews"}) as unknown as TypedDocumentString<ProductPageReviewsFragment, unknown>;
export const AddReviewDocument = new TypedDocumentString(`
    mutation AddReview($input: AddReviewInput!) {
  addReview(input: $input) {
    id
    rating
    body
    createdAt
    author {
      id
      username
    }
    product {
      id
      name
      averageRating
    }
  }
}
    `, {"hash":"sha256:fbc8fa52e8ddf9883441c1ed5dad2146301d817d182acc6f26dcabff206c165f"}) as unknown as TypedDocumentString<AddReviewMutation, AddReviewMutationVariables>;
export const DeleteReviewDocument = new TypedDocumentString(`
    mutation DeleteReview($id: ID!) {
  deleteReview(id: $id)
}
    `, {"hash":"sha256:d6a84faa4c73e65da67ba98f7994626c151a0176d9b79703efcccaed79f42894"}) as unknown as TypedDocumentString<DeleteReviewMutation, DeleteReviewMutationVariables>;
export const LoginDocument = new TypedDocumentString(`
    mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    accessToken
    refreshToken
    expiresIn
    user {
      id
      username
    }
  }
}
    `, {"hash":"sha256:3f6f9b1e1ba20552fa6ca5ae33ed52738158667640ba69e10eb9f93cd971d75c"}) as unknown as TypedDocumentString<LoginMutation, LoginMutationVariables>;
export const LogoutDocument = new TypedDocumentString(`
    mutation Logout($refreshToken: String) {
  logout(refreshToken: $refreshToken)
}
    `, {"hash":"sha256:77e9e7a495b4745c48e603ca2e3eed10424097ae6933b62f7d8c87ce0bb8cea5"}) as unknown as TypedDocumentString<LogoutMutation, LogoutMutationVariables>;
export const MeDocument = new TypedDocumentString(`
    query Me {
  me {
    id
    username
    name
    email
    roles
  }
}
    `, {"hash":"sha256:f482e6d1c90520e7a6dc6c9d69ec9a1ed4fc90ec08cdc558a05c9b09e5c06e82"}) as unknown as TypedDocumentString<MeQuery, MeQueryVariables>;
export const MyReviewsDocument = new TypedDocumentString(`
    query MyReviews($first: Int! = 50, $after: String) {
  me {
    id
    reviews(first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          product {
            id
          }
        }
      }
    }
  }
}
    `, {"hash":"sha256:40e798006fd498a25c2e7d7952c2f145a05b8cffef663a110f0efe7eb2dbedfa"}) as unknown as TypedDocumentString<MyReviewsQuery, MyReviewsQueryVariables>;
export const ProductDocument = new TypedDocumentString(`
    query Product($id: ID!, $reviews: Int! = 5) {
  product(id: $id) {
    id
    upc
    name
    description
    price {
      amount
      currency
    }
    weight
    category {
      id
      name
    }
    quantity
    inStock
    shippingEstimate
    averageRating
    reviews(first: $reviews) {
      totalCount
      edges {
        node {
          id
          rating
          body
          createdAt
          author {
            username
          }
        }
      }
    }
  }
}
    `, {"hash":"sha256:fca3aea13d045fb869c5802d347a71e9648f093a152b99605da41aeb21e37d74"}) as unknown as TypedDocumentString<ProductQuery, ProductQueryVariables>;
export const ProductPageDocument = new TypedDocumentString(`
    query ProductPage($id: ID!, $reviews: Int! = 5) {
  product(id: $id) {
    id
    name
    description
    price {
      amount
      currency
    }
    inStock
    ...ProductPageReviews @defer(label: "reviews")
  }
}
    fragment ProductPageReviews on Product {
  averageRating
  reviews(first: $reviews) {
    totalCount
    edges {
      node {
        id
        rating
        body
        author {
          username
        }
      }
    }
  }
}`, {"hash":"sha256:c630553384c7bfbb2c1639cb958277b38318f7a047ffcb938347e4fe4a483839","deferredFields":{"ProductPageReviews":["averageRating","reviews"]}}) as unknown as TypedDocumentString<ProductPageQuery, ProductPageQueryVariables>;
export const ProductsDocument = new TypedDocumentString(`
    query Products($first: Int!, $after: String, $filter: ProductFilter, $orderBy: ProductOrder) {
  products(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      node {
        id
        upc
        name
        price {
          amount
          currency
        }
        category {
          name
        }
        inStock
      }
    }
  }
}
    `, {"hash":"sha256:ba376be227baf2662bbe9b2d233be9ccc5c80c5e14d191ab0d720b0bea175eaa"}) as unknown as TypedDocumentString<ProductsQuery, ProductsQueryVariables>;
export const RefreshDocument = new TypedDocumentString(`
    mutation Refresh($refreshToken: String!) {
  refresh(refreshToken: $refreshToken) {
    accessToken
    refreshToken
    expiresIn
  }
}
    `, {"hash":"sha256:6c5fd31a970f9cd7de5b653487b135c635420ac5b8055b491e9843a02b954514"}) as unknown as TypedDocumentString<RefreshMutation, RefreshMutationVariables>;
export const ReviewAddedDocument = new TypedDocumentString(`
    subscription ReviewAdded($productId: ID) {
  reviewAdded(productId: $productId) {
    id
    rating
    body
    createdAt
    author {
      id
      username
    }
    product {
      id
      name
    }
  }
}
    `, {"hash":"sha256:9bf1e6f61e6e8f49d35aa8c08a5e322ff47da67a7446319c0d8fb555c42b1cce"}) as unknown as TypedDocumentString<ReviewAddedSubscription, ReviewAddedSubscriptionVariables>;
export const StockChangedDocument = new TypedDocumentString(`
    subscription StockChanged($productIds: [ID!]) {
  stockChanged(productIds: $productIds) {
    quantity
    inStock
    product {
      id
      name
      price {
        amount
        currency
      }
    }
  }
}
    `, {"hash":"sha256:b29930c2331d6c7b0d0d859124314ee38dd975fdebfc94f1c64d827195033015"}) as unknown as TypedDocumentString<StockChangedSubscription, StockChangedSubscriptionVariables>;
export const TopProductsDocument = new TypedDocumentString(`
    query TopProducts($first: Int!) {
  topProducts(first: $first) {
    id
    name
    price {
      amount
      currency
    }
    inStock
    averageRating
  }
}
    `, {"hash":"sha256:ec05cf1b1ca068bc89bfa766d154ed4f59fc2dee88cd52ecc6f915bdbe8610cf"}) as unknown as TypedDocumentString<TopProductsQuery, TopProductsQueryVariables>;