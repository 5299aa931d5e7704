/** A workspace that is not trusted cannot widen what the user allowed: its empty deny
 * lists do not replace the user's, its budgets do not raise the user's, and a Python
 * inside it is not run (e2e/attacks.e2e.ts shows the last in real VS Code). */

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { partInFolders } from "../src/python";
import { type ConfigReader, firstSettings, type Inspected, LIMIT_SETTINGS, NARROWING_LISTS, serverSettings, trustedView } from "../src/settings";
import { properties } from "./manifest";

/** VS Code's rule: the most specific value wins (folder, workspace, user, default). */
function reader(values: Record<string, Inspected>): ConfigReader {
  const effective = (info: Inspected) => info.workspaceFolderValue ?? info.workspaceValue ?? info.globalValue ?? info.defaultValue;
  return { get: (key) => effective(values[key] ?? {}), inspect: (key) => values[key] };
}

describe("settings that deny or limit, in a workspace that is not trusted", () => {
  const values: Record<string, Inspected> = {
    "agent.denyCommands": { defaultValue: [], globalValue: ["git push", "rm"], workspaceValue: [] },
    "agent.denyPaths": { defaultValue: [], globalValue: ["secrets/**"], workspaceFolderValue: ["build/**"] },
    "context.secretPatterns": { defaultValue: [], globalValue: ["*.key"], workspaceValue: [], workspaceFolderValue: [] },
    "agent.maxSteps": { defaultValue: 30, globalValue: 10, workspaceValue: 10000 },
    "agent.maxTokens": { defaultValue: 2000000, workspaceValue: null },
    "agent.maxCostUsd": { defaultValue: null, globalValue: 1, workspaceValue: 500 },
    "sandbox.maxMemoryMb": { defaultValue: 4096, workspaceValue: 1024 },
    "edits.review": { defaultValue: false, globalValue: true, workspaceValue: false },
    "model.name": { defaultValue: null, globalValue: "a", workspaceValue: "b" },
  };
  const raw = reader(values);

  it("adds the workspace's entries to the user's deny lists, never replaces them", () => {
    const view = trustedView(raw, false);
    expect(view.get("agent.denyCommands")).toEqual(["git push", "rm"]);
    expect(view.get("agent.denyPaths")).toEqual(["secrets/**", "build/**"]);
    expect(view.get("context.secretPatterns")).toEqual(["*.key"]);
  });

  it("lets the workspace lower a budget or limit, never raise or remove it", () => {
    const view = trustedView(raw, false);
    expect(view.get("agent.maxSteps")).toBe(10);
    expect(view.get("agent.maxTokens")).toBe(2000000);
    expect(view.get("agent.maxCostUsd")).toBe(1);
    expect(view.get("sandbox.maxMemoryMb")).toBe(1024);
    expect(view.get("edits.review")).toBe(true);
    expect(view.get("model.name")).toBe("b"); // not guarded: the workspace's value
    expect(serverSettings(view)).toMatchObject({
      agent: { denyCommands: ["git push", "rm"], maxSteps: 10, maxCostUsd: 1 },
      edits: { review: true },
    });
  });

  it("takes the workspace's values as they are when it is trusted", () => {
    const view = trustedView(raw, true);
    expect(view.get("agent.denyCommands")).toEqual([]);
    expect(view.get("agent.maxSteps")).toBe(10000);
    expect(view.get("edits.review")).toBe(false);
  });

  it("guards only settings of the manifest, of the right kind", () => {
    for (const key of NARROWING_LISTS) {
      expect(properties[`agentls.${key}`]?.type, key).toBe("array");
    }
    for (const key of LIMIT_SETTINGS) {
      const type = properties[`agentls.${key}`]?.type;
      expect([type].flat().some((t) => t === "integer" || t === "number"), key).toBe(true);
    }
  });
});

describe("a Python inside the workspace (partInFolders)", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "agentls-untrusted-"));
  const folder = path.join(root, "my wörk");
  fs.mkdirSync(path.join(folder, ".venv", "bin"), { recursive: true });
  fs.symlinkSync(folder, path.join(root, "link"));
  const interpreter = (command: string, ...args: string[]) => ({ command, args, source: "setting" as const });

  it("names the part of the command line that lies in a workspace folder", () => {
    expect(partInFolders(interpreter(`${folder}/.venv/bin/python`), [folder], folder)).toBe(`${folder}/.venv/bin/python`);
    expect(partInFolders(interpreter(".venv/bin/python"), [folder], folder)).toBe(".venv/bin/python");
    expect(partInFolders(interpreter("/usr/bin/env", `${folder}/py`), ["/elsewhere", folder], folder)).toBe(`${folder}/py`);
    expect(partInFolders(interpreter(`${root}/link/.venv/bin/python`), [folder], folder)).toBe(`${root}/link/.venv/bin/python`);
    expect(partInFolders(interpreter(`${folder}/../my wörk/x`), [folder], folder)).toBe(`${folder}/../my wörk/x`);
  });

  it("leaves a Python outside alone, and a bare name (PATH)", () => {
    expect(partInFolders(interpreter("/usr/bin/python3", "-X", "dev"), [folder], folder)).toBeUndefined();
    expect(partInFolders(interpreter("python3"), [folder], folder)).toBeUndefined();
    expect(partInFolders(interpreter(`${folder} 2/python`), [folder], folder)).toBeUndefined();
    expect(partInFolders(interpreter(`${root}/python`), [folder], undefined)).toBeUndefined();
  });
});

describe("the settings the server starts with (initializationOptions)", () => {
  it("take the model URL and key variable from user settings only, trusted or not; the rest as read", () => {
    const raw = reader({
      "model.baseUrl": { defaultValue: null, globalValue: "http://127.0.0.1:11434/v1", workspaceValue: "http://evil.example/v1" },
      "model.apiKeyEnv": { defaultValue: "OPENAI_API_KEY", workspaceValue: "EVIL_VAR" },
      "model.name": { defaultValue: null, workspaceValue: "from-the-folder" },
    });
    expect(firstSettings(trustedView(raw, true))).toEqual({ model: { baseUrl: "http://127.0.0.1:11434/v1", name: "from-the-folder" } });
    // the folder's values still reach the server, by workspace/configuration (the key guard asks)
    expect(serverSettings(trustedView(raw, true))).toEqual({
      model: { baseUrl: "http://evil.example/v1", apiKeyEnv: "EVIL_VAR", name: "from-the-folder" },
    });
  });
});
