/* eslint-disable */
import * as types from './graphql.js';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation AddReview($input: AddReviewInput!) {\n  addReview(input: $input) {\n    id\n    rating\n    body\n    createdAt\n    author {\n      id\n      username\n    }\n    product {\n      id\n      name\n      averageRating\n    }\n  }\n}": typeof types.AddReviewDocument,
    "mutation DeleteReview($id: ID!) {\n  deleteReview(id: $id)\n}": typeof types.DeleteReviewDocument,
    "mutation Login($email: String!, $password: String!) {\n  login(email: $email, password: $password) {\n    accessToken\n    refreshToken\n    expiresIn\n    user {\n      id\n      username\n    }\n  }\n}": typeof types.LoginDocument,
    "mutation Logout($refreshToken: String) {\n  logout(refreshToken: $refreshToken)\n}": typeof types.LogoutDocument,
    "query Me {\n  me {\n    id\n    username\n    name\n    email\n    roles\n  }\n}": typeof types.MeDocument,
    "query MyReviews($first: Int! = 50, $after: String) {\n  me {\n    id\n    reviews(first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        node {\n          id\n          product {\n            id\n          }\n        }\n      }\n    }\n  }\n}": typeof types.MyReviewsDocument,
    "query Product($id: ID!, $reviews: Int! = 5) {\n  product(id: $id) {\n    id\n    upc\n    name\n    description\n    price {\n      amount\n      currency\n    }\n    weight\n    category {\n      id\n      name\n    }\n    quantity\n    inStock\n    shippingEstimate\n    averageRating\n    reviews(first: $reviews) {\n      totalCount\n      edges {\n        node {\n          id\n          rating\n          body\n          createdAt\n          author {\n            username\n          }\n        }\n      }\n    }\n  }\n}": typeof types.ProductDocument,
    "query ProductPage($id: ID!, $reviews: Int! = 5) {\n  product(id: $id) {\n    id\n    name\n    description\n    price {\n      amount\n      currency\n    }\n    inStock\n    ...ProductPageReviews @defer(label: \"reviews\")\n  }\n}\n\nfragment ProductPageReviews on Product {\n  averageRating\n  reviews(first: $reviews) {\n    totalCount\n    edges {\n      node {\n        id\n        rating\n        body\n        author {\n          username\n        }\n      }\n    }\n  }\n}": typeof types.ProductPageDocument,
    "query Products($first: Int!, $after: String, $filter: ProductFilter, $orderBy: ProductOrder) {\n  products(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        upc\n        name\n        price {\n          amount\n          currency\n        }\n        category {\n          name\n        }\n        inStock\n      }\n    }\n  }\n}": typeof types.ProductsDocument,
    "mutation Refresh($refreshToken: String!) {\n  refresh(refreshToken: $refreshToken) {\n    accessToken\n    refreshToken\n    expiresIn\n  }\n}": typeof types.RefreshDocument,
    "subscription ReviewAdded($productId: ID) {\n  reviewAdded(productId: $productId) {\n    id\n    rating\n    body\n    createdAt\n    author {\n      id\n      username\n    }\n    product {\n      id\n      name\n    }\n  }\n}": typeof types.ReviewAddedDocument,
    "subscription StockChanged($productIds: [ID!]) {\n  stockChanged(productIds: $productIds) {\n    quantity\n    inStock\n    product {\n      id\n      name\n      price {\n        amount\n        currency\n      }\n    }\n  }\n}": typeof types.StockChangedDocument,
    "query TopProducts($first: Int!) {\n  topProducts(first: $first) {\n    id\n    name\n    price {\n      amount\n      currency\n    }\n    inStock\n    averageRating\n  }\n}": typeof types.TopProductsDocument,
};
const documents: Documents = {
    "mutation AddReview($input: AddReviewInput!) {\n  addReview(input: $input) {\n    id\n    rating\n    body\n    createdAt\n    author {\n      id\n      username\n    }\n    product {\n      id\n      name\n      averageRating\n    }\n  }\n}": types.AddReviewDocument,
    "mutation DeleteReview($id: ID!) {\n  deleteReview(id: $id)\n}": types.DeleteReviewDocument,
    "mutation Login($email: String!, $password: String!) {\n  login(email: $email, password: $password) {\n    accessToken\n    refreshToken\n    expiresIn\n    user {\n      id\n      username\n    }\n  }\n}": types.LoginDocument,
    "mutation Logout($refreshToken: String) {\n  logout(refreshToken: $refreshToken)\n}": types.LogoutDocument,
    "query Me {\n  me {\n    id\n    username\n    name\n    email\n    roles\n  }\n}": types.MeDocument,
    "query MyReviews($first: Int! = 50, $after: String) {\n  me {\n    id\n    reviews(first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        node {\n          id\n          product {\n            id\n          }\n        }\n      }\n    }\n  }\n}": types.MyReviewsDocument,
    "query Product($id: ID!, $reviews: Int! = 5) {\n  product(id: $id) {\n    id\n    upc\n    name\n    description\n    price {\n      amount\n      currency\n    }\n    weight\n    category {\n      id\n      name\n    }\n    quantity\n    inStock\n    shippingEstimate\n    averageRating\n    reviews(first: $reviews) {\n      totalCount\n      edges {\n        node {\n          id\n          rating\n          body\n          createdAt\n          author {\n            username\n          }\n        }\n      }\n    }\n  }\n}": types.ProductDocument,
    "query ProductPage($id: ID!, $reviews: Int! = 5) {\n  product(id: $id) {\n    id\n    name\n    description\n    price {\n      amount\n      currency\n    }\n    inStock\n    ...ProductPageReviews @defer(label: \"reviews\")\n  }\n}\n\nfragment ProductPageReviews on Product {\n  averageRating\n  reviews(first: $reviews) {\n    totalCount\n    edges {\n      node {\n        id\n        rating\n        body\n        author {\n          username\n        }\n      }\n    }\n  }\n}": types.ProductPageDocument,
    "query Products($first: Int!, $after: String, $filter: ProductFilter, $orderBy: ProductOrder) {\n  products(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        upc\n        name\n        price {\n          amount\n          currency\n        }\n        category {\n          name\n        }\n        inStock\n      }\n    }\n  }\n}": types.ProductsDocument,
    "mutation Refresh($refreshToken: String!) {\n  refresh(refreshToken: $refreshToken) {\n    accessToken\n    refreshToken\n    expiresIn\n  }\n}": types.RefreshDocument,
    "subscription ReviewAdded($productId: ID) {\n  reviewAdded(productId: $productId) {\n    id\n    rating\n    body\n    createdAt\n    author {\n      id\n      username\n    }\n    product {\n      id\n      name\n    }\n  }\n}": types.ReviewAddedDocument,
    "subscription StockChanged($productIds: [ID!]) {\n  stockChanged(productIds: $productIds) {\n    quantity\n    inStock\n    product {\n      id\n      name\n      price {\n        amount\n        currency\n      }\n    }\n  }\n}": types.StockChangedDocument,
    "query TopProducts($first: Int!) {\n  topProducts(first: $first) {\n    id\n    name\n    price {\n      amount\n      currency\n    }\n    inStock\n    averageRating\n  }\n}": types.TopProductsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation AddReview($input: AddReviewInput!) {\n  addReview(input: $input) {\n    id\n    rating\n    body\n    createdAt\n    author {\n      id\n      username\n    }\n    product {\n      id\n      name\n      averageRating\n    }\n  }\n}"): typeof import('./graphql.js').AddReviewDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation DeleteReview($id: ID!) {\n  deleteReview(id: $id)\n}"): typeof import('./graphql.js').DeleteReviewDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Login($email: String!, $password: String!) {\n  login(email: $email, password: $password) {\n    accessToken\n    refreshToken\n    expiresIn\n    user {\n      id\n      username\n    }\n  }\n}"): typeof import('./graphql.js').LoginDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Logout($refreshToken: String) {\n  logout(refreshToken: $refreshToken)\n}"): typeof import('./graphql.js').LogoutDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Me {\n  me {\n    id\n    username\n    name\n    email\n    roles\n  }\n}"): typeof import('./graphql.js').MeDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query MyReviews($first: Int! = 50, $after: String) {\n  me {\n    id\n    reviews(first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        node {\n          id\n          product {\n            id\n          }\n        }\n      }\n    }\n  }\n}"): typeof import('./graphql.js').MyReviewsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Product($id: ID!, $reviews: Int! = 5) {\n  product(id: $id) {\n    id\n    upc\n    name\n    description\n    price {\n      amount\n      currency\n    }\n    weight\n    category {\n      id\n      name\n    }\n    quantity\n    inStock\n    shippingEstimate\n    averageRating\n    reviews(first: $reviews) {\n      totalCount\n      edges {\n        node {\n          id\n          rating\n          body\n          createdAt\n          author {\n            username\n          }\n        }\n      }\n    }\n  }\n}"): typeof import('./graphql.js').ProductDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query ProductPage($id: ID!, $reviews: Int! = 5) {\n  product(id: $id) {\n    id\n    name\n    description\n    price {\n      amount\n      currency\n    }\n    inStock\n    ...ProductPageReviews @defer(label: \"reviews\")\n  }\n}\n\nfragment ProductPageReviews on Product {\n  averageRating\n  reviews(first: $reviews) {\n    totalCount\n    edges {\n      node {\n        id\n        rating\n        body\n        author {\n          username\n        }\n      }\n    }\n  }\n}"): typeof import('./graphql.js').ProductPageDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Products($first: Int!, $after: String, $filter: ProductFilter, $orderBy: ProductOrder) {\n  products(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        upc\n        name\n        price {\n          amount\n          currency\n        }\n        category {\n          name\n        }\n        inStock\n      }\n    }\n  }\n}"): typeof import('./graphql.js').ProductsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Refresh($refreshToken: String!) {\n  refresh(refreshToken: $refreshToken) {\n    accessToken\n    refreshToken\n    expiresIn\n  }\n}"): typeof import('./graphql.js').RefreshDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription ReviewAdded($productId: ID) {\n  reviewAdded(productId: $productId) {\n    id\n    rating\n    body\n    createdAt\n    author {\n      id\n      username\n    }\n    product {\n      id\n      name\n    }\n  }\n}"): typeof import('./graphql.js').ReviewAddedDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription StockChanged($productIds: [ID!]) {\n  stockChanged(productIds: $productIds) {\n    quantity\n    inStock\n    product {\n      id\n      name\n      price {\n        amount\n        currency\n      }\n    }\n  }\n}"): typeof import('./graphql.js').StockChangedDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query TopProducts($first: Int!) {\n  topProducts(first: $first) {\n    id\n    name\n    price {\n      amount\n      currency\n    }\n    inStock\n    averageRating\n  }\n}"): typeof import('./graphql.js').TopProductsDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
