/** How the server process is started: the probe of the interpreter, the install
 * command, and the executable (command, arguments, environment) handed to the client. */

import { execFile, spawn } from "node:child_process";
import type { Executable } from "vscode-languageclient/node";
import { type Interpreter, describe, isSupported, MIN_PYTHON, versionText } from "./python";

export const SERVER_MODULE = "agentls";
export const DEFAULT_API_KEY_ENV = "OPENAI_API_KEY";

/**
 * The environment of every Python the extension starts (the probe, pip, the server).
 * `PYTHONSAFEPATH` (Python 3.11+, as `-P`) keeps the working directory off `sys.path`:
 * `python -m agentls` in the workspace folder would otherwise import a workspace's own
 * `agentls/` package or `json.py` before the installed ones, running a hostile folder's
 * code even in Restricted Mode.
 */
export function pythonEnv(base: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) {
    if (value !== undefined) {
      env[key] = value;
    }
  }
  env["PYTHONSAFEPATH"] = "1";
  return env;
}

/** Python source that prints one JSON line: the version, and whether `module` imports. */
export function probeScript(module: string = SERVER_MODULE): string {
  return [
    "import importlib.util, json, sys",
    `name = ${JSON.stringify(module)}`,
    "found = importlib.util.find_spec(name) is not None",
    "version = None",
    "if found:",
    "    try:",
    "        from importlib.metadata import version as v",
    "        version = v(name)",
    "    except Exception:",
    "        pass",
    "print(json.dumps({'python': list(sys.version_info[:3]), 'executable': sys.executable,",
    "                  'installed': found, 'version': version}))",
  ].join("\n");
}

export interface Probe {
  readonly python: readonly number[];
  readonly executable: string;
  readonly installed: boolean;
  readonly version: string | null;
}

/** The probe's output, or undefined when it is not what the script prints. */
export function parseProbe(stdout: string): Probe | undefined {
  const line = stdout.trim().split(/\r?\n/).pop() ?? "";
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) {
    return undefined;
  }
  const { python, executable, installed, version } = value as Record<string, unknown>;
  if (
    !Array.isArray(python) ||
    python.length < 2 ||
    !python.every((n) => typeof n === "number") ||
    typeof executable !== "string" ||
    typeof installed !== "boolean" ||
    !(typeof version === "string" || version === null)
  ) {
    return undefined;
  }
  return { python, executable, installed, version };
}

export type Readiness =
  | { kind: "ready"; probe: Probe }
  | { kind: "missing"; probe: Probe; message: string }
  | { kind: "unusable"; message: string };

/** What the probe says about starting the server with this interpreter. */
export function readiness(interpreter: Interpreter, probe: Probe | undefined, error?: string): Readiness {
  const name = describe(interpreter);
  if (probe === undefined) {
    return {
      kind: "unusable",
      message: `Could not run the Python interpreter "${name}"${error ? `: ${error}` : ""}.`,
    };
  }
  const [major = 0, minor = 0] = probe.python;
  if (!isSupported(major, minor)) {
    return {
      kind: "unusable",
      message:
        `agentls needs Python ${versionText(MIN_PYTHON)} or newer; "${name}" is Python ` +
        `${versionText(probe.python)}.`,
    };
  }
  if (!probe.installed) {
    return {
      kind: "missing",
      probe,
      message: `agentls is not installed in ${probe.executable} (Python ${versionText(probe.python)}).`,
    };
  }
  return { kind: "ready", probe };
}

export function runProbe(interpreter: Interpreter, timeoutMs = 20_000): Promise<Readiness> {
  return new Promise((resolve) => {
    execFile(
      interpreter.command,
      [...interpreter.args, "-c", probeScript()],
      { timeout: timeoutMs, windowsHide: true, env: pythonEnv(process.env) },
      (error, stdout, stderr) => {
        const probe = error ? undefined : parseProbe(stdout);
        const detail = error ? (stderr.trim().split("\n").pop() ?? error.message) : undefined;
        resolve(readiness(interpreter, probe, detail || error?.message));
      },
    );
  });
}

/** `python -m pip install <spec>` for this interpreter. */
export function installCommand(interpreter: Interpreter, spec: string): { command: string; args: string[] } {
  return { command: interpreter.command, args: [...interpreter.args, "-m", "pip", "install", spec] };
}

/** Runs the install, streaming its output to `write`; resolves with the exit code. */
export function runInstall(
  interpreter: Interpreter,
  spec: string,
  write: (text: string) => void,
): Promise<number> {
  const { command, args } = installCommand(interpreter, spec);
  write(`> ${[command, ...args].join(" ")}\n`);
  return new Promise((resolve) => {
    const child = spawn(command, args, { windowsHide: true, env: pythonEnv(process.env) });
    child.stdout.on("data", (chunk: Buffer) => write(chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => write(chunk.toString()));
    child.on("error", (error) => {
      write(`${error.message}\n`);
      resolve(-1);
    });
    child.on("close", (code) => resolve(code ?? -1));
  });
}

export interface StartOptions {
  readonly serverArgs: readonly string[];
  /** The name of the variable that carries the key (`model.apiKeyEnv`). */
  readonly apiKeyEnv: string | undefined;
  /** The key from SecretStorage; when unset the environment's own variable (if any) stays. */
  readonly apiKey: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string | undefined;
}

/** A vscode-languageclient `Executable` (stdio, its default transport), typed tighter. */
export interface ServerProcess extends Executable {
  command: string;
  args: string[];
  options: { env: Record<string, string>; cwd?: string };
}

/** The server process: `<python> [args] -m agentls [serverArgs]` on stdio. */
export function serverExecutable(interpreter: Interpreter, options: StartOptions): ServerProcess {
  const env = pythonEnv(options.env);
  env["PYTHONUNBUFFERED"] = "1";
  if (options.apiKey) {
    const name = options.apiKeyEnv?.trim() || DEFAULT_API_KEY_ENV;
    env[name] = options.apiKey;
  }
  return {
    command: interpreter.command,
    args: [...interpreter.args, "-m", SERVER_MODULE, ...options.serverArgs],
    options: options.cwd === undefined ? { env } : { env, cwd: options.cwd },
  };
}
