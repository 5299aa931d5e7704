/** Loads a built extension bundle with `require("vscode")` answered by the stub. Classes
 * the stub lacks (vscode-languageclient subclasses some at load time) become empty ones. */

import Module from "node:module";
import * as stub from "./vscode-stub";

type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;

/** The stub as `require("vscode")` returns it. */
function vscodeModule(): unknown {
  const api: Record<string, unknown> = { ...stub };
  return new Proxy(api, {
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
}

/** Makes `require("vscode")` (from node_modules, which vitest does not transform, e.g.
 * vscode-languageclient) return the stub until the returned function is called. */
export function hookVscode(): () => void {
  const vscode = vscodeModule();
  const internal = Module as unknown as { _load: Loader };
  const original = internal._load;
  internal._load = function (request, parent, isMain) {
    return request === "vscode" ? vscode : original.call(this, request, parent, isMain);
  };
  return () => {
    internal._load = original;
  };
}

export function loadBundle(file: string): { activate(context: unknown): Promise<void>; deactivate(): Promise<void> } {
  const unhook = hookVscode();
  try {
    const require = Module.createRequire(import.meta.url);
    return require(file) as ReturnType<typeof loadBundle>;
  } finally {
    unhook();
  }
}
