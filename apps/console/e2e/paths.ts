import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
/** Artifacts of a browser-test run (screenshots of every page, traces of failures); git-ignored. */
export const ARTIFACTS_DIR = path.join(ROOT, '.data', 'console-e2e');
/** What global-setup started, for the tests (StackInfo). */
export const STACK_FILE = path.join(ARTIFACTS_DIR, 'stack.json');
