/**
 * The import rules of the server (src/) and the chat page (web/src/), checked by `npm run lint:deps`
 * (part of `npm run lint`, which CI runs). Each rule says why it exists; a rule that fires names the
 * import that broke it.
 *
 * The layers, from the bottom: src/shared (pure code the chat page runs too, importing nothing), then
 * src/infra and src/integrations (no knowledge of features), then the
 * feature folders in src/modules, then src/http, src/app.ts and src/container.ts (the composition
 * root). Among the features, users is the bottom: auth and billing read a user's plan from it.
 *
 * @type {import('dependency-cruiser').IConfiguration}
 */
export default {
  forbidden: [
    {
      name: 'no-circular',
      comment:
        'A module must not import itself through others. With tsPreCompilationDeps below, type-only ' +
        'imports are edges too: a cycle carried by types alone still ties the files together.',
      severity: 'error',
      from: { path: '^(src|web/src)/' },
      to: { circular: true },
    },
    {
      name: 'no-circular-between-features',
      comment:
        'No two feature folders of src/modules may depend on each other, even through different files ' +
        'or through another folder (auth -> billing -> auth). Which one depends on which is a decision; ' +
        'make it once.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/modules/[^/]+$' },
      to: { path: '^src/modules/[^/]+$', circular: true },
    },
    {
      name: 'replies-own-a-reply',
      comment:
        'src/modules/replies owns a reply\'s life (its row, states, head rule, following and stopping ' +
        'it); the api side (messages) and the worker side (generation) build on it, never the reverse.',
      severity: 'error',
      from: { path: '^src/modules/replies/' },
      to: { path: '^src/modules/(messages|generation)/' },
    },
    {
      name: 'worker-side-not-to-api-side',
      comment: 'The worker (generation) runs without the HTTP side: it must not import messages, or a worker would load the api.',
      severity: 'error',
      from: { path: '^src/modules/generation/' },
      to: { path: '^src/modules/messages/' },
    },
    {
      name: 'http-not-to-features',
      comment: 'src/http is the plumbing of the HTTP app (problems, SSE, pagination, health); features use it, it uses none of them.',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/modules/' },
    },
    {
      name: 'infra-not-to-features',
      comment:
        'src/infra is plumbing (database, queue, cache, logging) that every feature builds on; it ' +
        'must not know the features, or a change in one feature reaches all of them through it.',
      severity: 'error',
      from: { path: '^src/infra/' },
      to: { path: '^src/(modules|http)/|^src/(app|container)\\.ts$' },
    },
    {
      name: 'integrations-not-to-features',
      comment:
        'src/integrations wraps the outside world (Gemini, Stripe) behind small interfaces; features ' +
        'use those interfaces, never the other way round.',
      severity: 'error',
      from: { path: '^src/integrations/' },
      to: { path: '^src/(modules|http)/|^src/(app|container)\\.ts$' },
    },
    {
      name: 'features-not-to-composition-root',
      comment:
        'src/app.ts and src/container.ts wire the features together; a feature that imports them ' +
        'imports every other feature with them.',
      severity: 'error',
      from: { path: '^src/modules/' },
      to: { path: '^src/(app|container|main|roles)\\.ts$' },
    },
    {
      name: 'auth-not-to-billing',
      comment:
        "A user's plan (Tier and its lookup) lives in src/modules/users. Billing changes a plan and " +
        'reads sessions, so it depends on auth; auth depending on billing would close the loop.',
      severity: 'error',
      from: { path: '^src/modules/auth/' },
      to: { path: '^src/modules/billing/' },
    },
    {
      name: 'users-is-the-bottom-feature',
      comment:
        'Users is what auth and billing build on (the account, its mobile number, its plan); it ' +
        'must not import either of them back.',
      severity: 'error',
      from: { path: '^src/modules/users/' },
      to: { path: '^src/modules/(auth|billing)/' },
    },
    {
      name: 'page-not-to-server',
      comment:
        "The chat page runs in the browser and talks to the server through HTTP only: it may read " +
        "the server's OpenAPI types (web/generated) and the code both sides share (src/shared), never " +
        "the server's own code.",
      severity: 'error',
      from: { path: '^web/src/' },
      to: { path: '^src/', pathNot: '^src/shared/' },
    },
    {
      name: 'shared-imports-nothing',
      comment:
        'src/shared is the code the server and the chat page both run (in Node and in the browser): ' +
        'pure rules that import nothing but each other, no package, no Node or browser API, and ' +
        'nothing of either side, so that sharing it never drags one side into the other.',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { pathNot: '^src/shared/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      // web/generated/api.d.ts is build output (npm run lint makes it first); an unbuilt checkout may lack it.
      to: { couldNotResolve: true, pathNot: '^\\.\\./generated/api$' },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    // Keep type-only imports (import type, import { type X }) in the graph: see no-circular.
    tsPreCompilationDeps: true,
    // NodeNext resolution for src/ (./x.js -> ./x.ts); web/src is resolved by the same file, which
    // finds its extensionless imports as well.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    // Build output (the page's OpenAPI types): not code of ours to check.
    exclude: { path: '^web/generated/' },
  },
};
