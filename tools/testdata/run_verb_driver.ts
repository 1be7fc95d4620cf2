// Runs the `run` verb in its own process for tests that signal it: `deno run -A run_verb_driver.ts
// NOTEBOOKS_DIR ROOT [run flags...]`; exits with the verb's exit code.
import { main } from "../cli/run.ts";

const [notebooksDir, root, ...args] = Deno.args;
Deno.exit(await main(args, { notebooksDir, root }));
