import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { repoRoot } from '../../shared/config/paths.js';

/** The bare package a specifier names (`@scope/name/sub` → `@scope/name`); undefined for relative ones and Node's own. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || builtinModules.includes(specifier))
    return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const compilerOptions: ts.CompilerOptions = {
  module: ts.ModuleKind.ESNext,
  target: ts.ScriptTarget.ES2023,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  isolatedModules: true,
};

/** The specifiers a module imports and re-exports from; with `dynamic`, also those it `import()`s as a string. */
function importsOf(source: ts.SourceFile, dynamic: boolean): string[] {
  const specifiers = source.statements.flatMap((statement) =>
    (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
    statement.moduleSpecifier &&
    ts.isStringLiteral(statement.moduleSpecifier)
      ? [statement.moduleSpecifier.text]
      : [],
  );
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      specifiers.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  if (dynamic) visit(source);
  return specifiers;
}

/**
 * The project's files a process loads from its entry points (sources, `.ts`, or the build,
 * `dist/….js`), with the packages each imports. Sources are compiled first, so only the imports
 * the JavaScript keeps count (type-only imports are erased, decorator metadata kept). Dynamic
 * `import('…')` of a string is followed only with `followDynamic`: without it, it is what
 * loads a package lazily.
 */
export async function importGraph(entries: string[], { followDynamic = false } = {}): Promise<Map<string, string[]>> {
  const packagesOf = new Map<string, string[]>();
  const queue = entries.map((entry) => join(repoRoot, entry));
  for (let file = queue.shift(); file; file = queue.shift()) {
    if (packagesOf.has(file)) continue;
    const text = await readFile(file, 'utf8');
    const output = file.endsWith('.ts') ? ts.transpileModule(text, { compilerOptions, fileName: file }).outputText : text;
    const specifiers = importsOf(ts.createSourceFile(file, output, ts.ScriptTarget.ES2023), followDynamic);
    packagesOf.set(
      file,
      specifiers.map(packageOf).filter((name): name is string => !!name),
    );
    const local = (specifier: string) => resolve(dirname(file), file.endsWith('.ts') ? specifier.replace(/\.js$/, '.ts') : specifier);
    for (const specifier of specifiers.filter((s) => s.startsWith('.'))) queue.push(local(specifier));
  }
  return packagesOf;
}
