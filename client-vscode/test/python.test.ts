import { beforeEach, describe, expect, it } from "vitest";
import * as vscode from "vscode";
import { expandSetting, findInterpreter, type PythonApi } from "../src/python";
import { folders, reset } from "./vscode-stub";

function fakeApi(active: string, resolved: { exe?: string; major?: number; minor?: number } | undefined): PythonApi & { asked: unknown[] } {
  const asked: unknown[] = [];
  return {
    asked,
    environments: {
      getActiveEnvironmentPath(resource?: vscode.Uri) {
        asked.push(resource);
        return { path: active };
      },
      async resolveEnvironment(env: { path: string } | string) {
        expect(typeof env === "string" ? env : env.path).toBe(active);
        if (resolved === undefined) return undefined;
        return {
          executable: { uri: resolved.exe === undefined ? undefined : vscode.Uri.file(resolved.exe) },
          version: { major: resolved.major, minor: resolved.minor },
        };
      },
      onDidChangeActiveEnvironmentPath: () => ({ dispose() {} }),
    },
  };
}

describe("findInterpreter", () => {
  beforeEach(reset);

  it("takes agentls.interpreter first, with ${workspaceFolder} and ~ expanded", async () => {
    folders.push({ uri: vscode.Uri.file("/home/u/proj"), name: "proj", index: 0 });
    const api = fakeApi("/usr/bin/python3.12", { exe: "/usr/bin/python3.12", major: 3, minor: 12 });
    const found = await findInterpreter({
      resource: vscode.Uri.file("/home/u/proj"),
      setting: ["${workspaceFolder}/.venv/bin/python", "-X", "~/cfg", ""],
      api,
      home: "/home/u",
    });
    expect(found).toEqual({
      ok: true,
      interpreter: { command: "/home/u/proj/.venv/bin/python", args: ["-X", "/home/u/cfg"], source: "setting" },
    });
    expect(api.asked).toEqual([]); // the Python extension is not consulted
  });

  it("uses the Python extension's active environment for the resource", async () => {
    const api = fakeApi("/envs/a", { exe: "/envs/a/bin/python", major: 3, minor: 11 });
    const resource = vscode.Uri.file("/w");
    const found = await findInterpreter({ resource, setting: [], api });
    expect(found).toEqual({ ok: true, interpreter: { command: "/envs/a/bin/python", args: [], source: "Python extension" } });
    expect(api.asked).toEqual([resource]);
  });

  it("refuses a Python older than 3.11 from the Python extension, naming it", async () => {
    const found = await findInterpreter({ resource: undefined, setting: [], api: fakeApi("/envs/old", { exe: "/envs/old/bin/python", major: 3, minor: 9 }) });
    expect(found.ok).toBe(false);
    if (!found.ok) {
      expect(found.reason).toContain("3.11");
      expect(found.reason).toContain("/envs/old/bin/python is Python 3.9");
      expect(found.reason).toContain("Python: Select Interpreter");
    }
  });

  it("accepts 4.0 and takes an unknown version (the probe checks it)", async () => {
    const newer = await findInterpreter({ resource: undefined, setting: [], api: fakeApi("/e", { exe: "/e/python", major: 4, minor: 0 }) });
    expect(newer.ok).toBe(true);
    const unknown = await findInterpreter({ resource: undefined, setting: [], api: fakeApi("/e", { exe: "/e/python" }) });
    expect(unknown.ok).toBe(true);
  });

  it("says so when the selected environment cannot be resolved or has no executable", async () => {
    for (const resolved of [undefined, {}]) {
      const found = await findInterpreter({ resource: undefined, setting: [], api: fakeApi("/gone", resolved) });
      expect(found.ok).toBe(false);
      if (!found.ok) expect(found.reason).toContain("/gone");
    }
  });

  it("falls back to python3 on PATH (python on Windows) without the Python extension", async () => {
    expect(await findInterpreter({ resource: undefined, setting: [], api: undefined, platform: "linux" })).toEqual({
      ok: true,
      interpreter: { command: "python3", args: [], source: "PATH" },
    });
    const windows = await findInterpreter({ resource: undefined, setting: [" "], api: undefined, platform: "win32" });
    expect(windows.ok && windows.interpreter.command).toBe("python");
  });
});

describe("expandSetting", () => {
  it("leaves ${workspaceFolder} alone without a folder and expands ${userHome}", () => {
    expect(expandSetting(["${workspaceFolder}/py", "${userHome}/x", "a~b"], undefined, "/h")).toEqual([
      "${workspaceFolder}/py",
      "/h/x",
      "a~b",
    ]);
  });
});
