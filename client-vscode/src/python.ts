/** Which Python runs the server: the `agentls.interpreter` setting, else the Python
 * extension's selected environment, else `python3` on PATH. */

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import type { PythonExtension } from "@vscode/python-extension";
import { PYTHON_EXTENSION_ID } from "./constants";

export const MIN_PYTHON: readonly [number, number] = [3, 11];

export interface Interpreter {
  /** The executable, then the arguments that come before `-m agentls`. */
  readonly command: string;
  readonly args: readonly string[];
  readonly source: "setting" | "Python extension" | "PATH";
}

export type Found = { ok: true; interpreter: Interpreter } | { ok: false; reason: string };

/** The part of the Python extension's API (`@vscode/python-extension`) we use. */
export interface PythonApi {
  readonly environments: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { readonly path: string };
    resolveEnvironment(environment: { readonly path: string } | string): Promise<
      | {
          readonly executable: { readonly uri?: vscode.Uri };
          readonly version?: { readonly major?: number; readonly minor?: number };
        }
      | undefined
    >;
    readonly onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
  };
}

/**
 * The Python extension's API (typed by `@vscode/python-extension`), or undefined when the
 * extension is not installed or fails to activate. This is what that package's
 * `PythonExtension.api()` does, without its runtime `require("vscode")`.
 */
export async function loadPythonApi(): Promise<PythonApi | undefined> {
  const extension = vscode.extensions.getExtension<PythonExtension>(PYTHON_EXTENSION_ID);
  if (extension === undefined) {
    return undefined;
  }
  try {
    return extension.isActive ? extension.exports : await extension.activate();
  } catch {
    return undefined;
  }
}

/** `${workspaceFolder}`, `${userHome}` and a leading `~` expanded in each part of the setting. */
export function expandSetting(
  parts: readonly string[],
  workspaceFolder: string | undefined,
  home: string = os.homedir(),
): string[] {
  return parts.map((part) => {
    let value = part.replace(/\$\{userHome\}/g, home);
    if (workspaceFolder !== undefined) {
      value = value.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
    }
    if (value === "~" || value.startsWith("~/") || value.startsWith("~\\")) {
      value = home + value.slice(1);
    }
    return value;
  });
}

export function versionText(version: readonly number[]): string {
  return version.join(".");
}

export function isSupported(major: number, minor: number): boolean {
  return major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1]);
}

export interface FindOptions {
  readonly resource: vscode.Uri | undefined;
  readonly setting: readonly string[];
  readonly api: PythonApi | undefined;
  readonly platform?: NodeJS.Platform;
  readonly home?: string;
}

export async function findInterpreter(options: FindOptions): Promise<Found> {
  const folder = options.resource && vscode.workspace.getWorkspaceFolder(options.resource);
  const setting = expandSetting(
    options.setting.filter((part) => part.trim() !== ""),
    folder?.uri.fsPath,
    options.home,
  );
  const [command, ...args] = setting;
  if (command !== undefined) {
    return { ok: true, interpreter: { command, args, source: "setting" } };
  }
  if (options.api !== undefined) {
    return fromPythonExtension(options.api, options.resource);
  }
  const fallback = (options.platform ?? process.platform) === "win32" ? "python" : "python3";
  return { ok: true, interpreter: { command: fallback, args: [], source: "PATH" } };
}

async function fromPythonExtension(api: PythonApi, resource: vscode.Uri | undefined): Promise<Found> {
  const active = api.environments.getActiveEnvironmentPath(resource);
  const resolved = await api.environments.resolveEnvironment(active);
  const executable = resolved?.executable.uri?.fsPath;
  if (resolved === undefined || executable === undefined) {
    return {
      ok: false,
      reason:
        `The Python extension's selected environment (${active.path}) has no interpreter. ` +
        'Run "Python: Select Interpreter", or set agentls.interpreter.',
    };
  }
  const { major, minor } = resolved.version ?? {};
  if (major !== undefined && minor !== undefined && !isSupported(major, minor)) {
    return {
      ok: false,
      reason:
        `agentls needs Python ${versionText(MIN_PYTHON)} or newer; the selected interpreter ` +
        `${executable} is Python ${major}.${minor}. ` +
        'Run "Python: Select Interpreter", or set agentls.interpreter.',
    };
  }
  return { ok: true, interpreter: { command: executable, args: [], source: "Python extension" } };
}

export function describe(interpreter: Interpreter): string {
  return [interpreter.command, ...interpreter.args].join(" ");
}

/** The path a part of the interpreter's command line names, absolute: an absolute path, or
 * one with a separator taken from `cwd` (where the server runs); a bare name is looked up
 * on PATH and names no path here. Symbolic links are followed when the path exists. */
function namedPath(part: string, cwd: string | undefined): string | undefined {
  const named = path.isAbsolute(part)
    ? part
    : (part.includes("/") || part.includes(path.sep)) && cwd !== undefined
      ? path.resolve(cwd, part)
      : undefined;
  return named === undefined ? undefined : path.resolve(named);
}

/** The path with symbolic links resolved as far as it exists. */
function realOrSelf(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    const parent = path.dirname(file);
    return parent === file ? file : path.join(realOrSelf(parent), path.basename(file));
  }
}

function isWithin(file: string, folder: string): boolean {
  const relative = path.relative(folder, file);
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

/**
 * The first part of the interpreter's command line (the program or an argument before
 * `-m`) that lies in one of the folders, or undefined. In Restricted Mode such an
 * interpreter (a `.venv` of the workspace, through `${workspaceFolder}` in a user setting
 * or the Python extension's choice) is the workspace's code, and is not run.
 */
export function partInFolders(interpreter: Interpreter, folders: readonly string[], cwd: string | undefined): string | undefined {
  for (const part of [interpreter.command, ...interpreter.args]) {
    const named = namedPath(part, cwd);
    if (named === undefined) {
      continue;
    }
    const candidates = [named, realOrSelf(named)];
    const roots = folders.flatMap((folder) => [path.resolve(folder), realOrSelf(path.resolve(folder))]);
    if (candidates.some((file) => roots.some((root) => isWithin(file, root)))) {
      return part;
    }
  }
  return undefined;
}
