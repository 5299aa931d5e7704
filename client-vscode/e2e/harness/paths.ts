/** Where the end-to-end tests find things: the repository, code-server's cache, the .vsix. */

import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const CLIENT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const ROOT = path.dirname(CLIENT);
export const VENV_PYTHON = path.join(ROOT, ".venv", "bin", "python");
export const CODE_SERVER_VERSION = "4.100.3";
export const CODE_SERVER = path.join(
  CLIENT,
  ".e2e-cache",
  `code-server-${CODE_SERVER_VERSION}`,
  "node_modules",
  "code-server",
  "out",
  "node",
  "entry.js",
);
export const VSIX = path.join(CLIENT, "agentls.vsix");
export const CHROMIUM = process.env["AGENTLS_E2E_CHROMIUM"] ?? "/usr/bin/chromium";
/** Generated files of a run (gitignored): the probe's bundle, screenshots, logs. */
export const OUT = path.join(CLIENT, "e2e", "out");
/** Where screenshots go: e2e/out/screenshots, or $AGENTLS_E2E_SCREENSHOTS (docs/images). */
export const SCREENSHOTS = process.env["AGENTLS_E2E_SCREENSHOTS"] ?? path.join(OUT, "screenshots");
