/** Loads a built extension bundle with `require("vscode")` answered by the stub. Classes
 * the stub lacks (vscode-languageclient subclasses some at load time) become empty ones. */

import Module from "node:module";
import * as stub from "./vscode-stub";

type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;

export function loadBundle(file: string): { activate(context: unknown): Promise<void>; deactivate(): Promise<void> } {
  const api: Record<string, unknown> = { ...stub };
  const vscode = new Proxy(api, {
    get(target, key) {
      if (key === "__esModule") {
        return true; // so that `__importStar` hands the proxy itself on
      }
      if (typeof key === "string" && key in target) {
        return target[key];
      }
      return typeof key === "string" && /^[A-Z]/.test(key) ? class {} : undefined;
    },
  });
  const internal = Module as unknown as { _load: Loader };
  const original = internal._load;
  internal._load = function (request, parent, isMain) {
    return request === "vscode" ? vscode : original.call(this, request, parent, isMain);
  };
  try {
    const require = Module.createRequire(import.meta.url);
    return require(file) as ReturnType<typeof loadBundle>;
  } finally {
    internal._load = original;
  }
}
