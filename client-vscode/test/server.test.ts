import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { Interpreter } from "../src/python";
import { installCommand, parseProbe, probeScript, readiness, runInstall, runProbe, serverExecutable } from "../src/server";

const venv: Interpreter = { command: "/w/.venv/bin/python", args: [], source: "setting" };
const launcher: Interpreter = { command: "py", args: ["-3.12"], source: "setting" };

describe("serverExecutable (the server's start arguments)", () => {
  const base = { serverArgs: [], apiKeyEnv: undefined, apiKey: undefined, env: { PATH: "/bin" }, cwd: "/w" };

  it("runs `<python> -m agentls` on stdio, in the workspace folder", () => {
    const exe = serverExecutable(venv, base);
    expect(exe.command).toBe("/w/.venv/bin/python");
    expect(exe.args).toEqual(["-m", "agentls"]);
    expect(exe.options?.cwd).toBe("/w");
    expect(exe.options?.env).toEqual({ PATH: "/bin", PYTHONUNBUFFERED: "1", PYTHONSAFEPATH: "1" });
    expect("transport" in exe).toBe(false); // stdio, the default
  });

  it("keeps the interpreter's own arguments before -m and appends agentls.serverArgs", () => {
    const exe = serverExecutable(launcher, { ...base, serverArgs: ["-v", "--log-file", "/tmp/a.log"] });
    expect(exe.command).toBe("py");
    expect(exe.args).toEqual(["-3.12", "-m", "agentls", "-v", "--log-file", "/tmp/a.log"]);
  });

  it("passes the stored API key in the variable model.apiKeyEnv names", () => {
    const exe = serverExecutable(venv, { ...base, apiKeyEnv: "GROQ_KEY", apiKey: "sk-secret", env: { OPENAI_API_KEY: "old" } });
    expect(exe.options?.env?.GROQ_KEY).toBe("sk-secret");
    expect(exe.options?.env?.OPENAI_API_KEY).toBe("old");
  });

  it("defaults the variable to OPENAI_API_KEY and overrides the environment's value", () => {
    const exe = serverExecutable(venv, { ...base, apiKeyEnv: " ", apiKey: "sk-new", env: { OPENAI_API_KEY: "sk-old" } });
    expect(exe.options?.env?.OPENAI_API_KEY).toBe("sk-new");
  });

  it("leaves the environment's key alone when none is stored, and has no cwd without a folder", () => {
    const exe = serverExecutable(venv, { ...base, apiKey: undefined, env: { OPENAI_API_KEY: "from-shell", UNSET: undefined }, cwd: undefined });
    expect(exe.options?.env).toEqual({ OPENAI_API_KEY: "from-shell", PYTHONUNBUFFERED: "1", PYTHONSAFEPATH: "1" });
    expect(exe.options && "cwd" in exe.options).toBe(false);
  });
});

describe("installCommand", () => {
  it("is pip of that very interpreter", () => {
    expect(installCommand(launcher, "agentls")).toEqual({ command: "py", args: ["-3.12", "-m", "pip", "install", "agentls"] });
    expect(installCommand(venv, "/src/agentls")).toEqual({ command: "/w/.venv/bin/python", args: ["-m", "pip", "install", "/src/agentls"] });
  });
});

describe("runInstall", () => {
  it.runIf(process.platform !== "win32")("runs pip in that interpreter, streams its output, returns the exit code", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "agentls-pip-"));
    const python = path.join(dir, "python");
    // A Python whose pip prints what it was asked and fails for one spec.
    writeFileSync(python, '#!/bin/sh\necho "pip called with: $*"\n[ "$4" = "bad-spec" ] && { echo "no such package" >&2; exit 3; }\nexit 0\n', { mode: 0o755 });
    const interpreter: Interpreter = { command: python, args: [], source: "setting" };
    let output = "";
    expect(await runInstall(interpreter, "agentls", (text) => (output += text))).toBe(0);
    expect(output).toContain(`> ${python} -m pip install agentls`);
    expect(output).toContain("pip called with: -m pip install agentls");
    output = "";
    expect(await runInstall(interpreter, "bad-spec", (text) => (output += text))).toBe(3);
    expect(output).toContain("no such package");
    expect(await runInstall({ command: path.join(dir, "missing"), args: [], source: "setting" }, "x", () => undefined)).toBe(-1);
  });
});

describe("the probe", () => {
  it("parses what the script prints and refuses anything else", () => {
    const line = JSON.stringify({ python: [3, 12, 1], executable: "/p", installed: true, version: "0.1.0" });
    expect(parseProbe(`noise from sitecustomize\n${line}\n`)).toEqual({ python: [3, 12, 1], executable: "/p", installed: true, version: "0.1.0" });
    expect(parseProbe("")).toBeUndefined();
    expect(parseProbe("Python 3.12.1")).toBeUndefined();
    expect(parseProbe(JSON.stringify({ python: "3.12", executable: "/p", installed: true, version: null }))).toBeUndefined();
  });

  it("judges: too old, missing, ready, unusable", () => {
    const probe = (python: number[], installed: boolean) => ({ python, executable: "/p/python", installed, version: null });
    const message = (r: ReturnType<typeof readiness>) => `${r.kind}: ${"message" in r ? r.message : ""}`;
    expect(message(readiness(venv, probe([3, 10, 4], true)))).toMatch(/^unusable: .*needs Python 3\.11.* is Python 3\.10\.4/);
    expect(message(readiness(venv, probe([3, 11, 0], false)))).toMatch(/^missing: agentls is not installed in \/p\/python/);
    expect(readiness(venv, probe([3, 13, 0], true)).kind).toBe("ready");
    expect(message(readiness(venv, undefined, "spawn ENOENT"))).toMatch(/^unusable: .*spawn ENOENT/);
  });

  const python3 = (() => {
    try {
      execFileSync("python3", ["-c", "pass"]);
      return "python3";
    } catch {
      return undefined;
    }
  })();

  it.runIf(python3)("runs in a real Python: finds a package on the path, not a missing one", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "agentls-probe-"));
    mkdirSync(path.join(dir, "fakeagent"));
    writeFileSync(path.join(dir, "fakeagent", "__init__.py"), "");
    const run = (module: string) =>
      parseProbe(execFileSync("python3", ["-c", probeScript(module)], { env: { ...process.env, PYTHONPATH: dir } }).toString());
    const found = run("fakeagent");
    expect(found?.installed).toBe(true);
    expect(found?.python[0]).toBe(3);
    expect(run("fakeagent_missing_xyz")?.installed).toBe(false);
  });

  it("reports an interpreter that does not exist as unusable", async () => {
    const result = await runProbe({ command: "/nonexistent/python", args: [], source: "setting" });
    expect(result.kind).toBe("unusable");
    if (result.kind === "unusable") expect(result.message).toContain("/nonexistent/python");
  });
});
