import { describe, expect, it } from "vitest";
import * as vscode from "vscode";
import { contextArgs, isRunResult, runArgsFrom, selectionArgs, taskArgs, undoTarget, type StatusResult, type TaskInfo } from "../src/commands";
import { CLIENT_COMMANDS, SERVER_COMMANDS } from "../src/constants";
import { contributedCommands, manifest } from "./manifest";
import { editSelectionAction, serverCommandIds } from "./server-source";

const uri = vscode.Uri.file("/w/src/app.py");

function editor(anchor: [number, number], active: [number, number]) {
  return { document: { uri }, selection: new vscode.Selection(new vscode.Position(...anchor), new vscode.Position(...active)) };
}

describe("argument building", () => {
  it("Run task…: the selection's range when there is one", () => {
    expect(taskArgs("add types", editor([3, 4], [1, 0]), "edit")).toEqual({
      instruction: "add types",
      mode: "edit",
      uri: "file:///w/src/app.py",
      range: { start: { line: 1, character: 0 }, end: { line: 3, character: 4 } },
    });
  });

  it("Run task… / Plan…: the file without a range when nothing is selected", () => {
    expect(taskArgs("explain", editor([2, 2], [2, 2]), "plan")).toEqual({ instruction: "explain", mode: "plan", uri: "file:///w/src/app.py" });
  });

  it("Run task…: the workspace when no editor is open", () => {
    expect(taskArgs("add a README", undefined, "edit")).toEqual({ instruction: "add a README", mode: "edit" });
  });

  it("Edit selection…: always a range, empty at the cursor when nothing is selected", () => {
    expect(selectionArgs("docstring", editor([5, 8], [5, 8]))).toEqual({
      instruction: "docstring",
      uri: "file:///w/src/app.py",
      range: { start: { line: 5, character: 8 }, end: { line: 5, character: 8 } },
      mode: "edit",
    });
  });

  it("Show context: the cursor (the selection's active end)", () => {
    expect(contextArgs(editor([1, 0], [4, 2]))).toEqual({ uri: "file:///w/src/app.py", position: { line: 4, character: 2 } });
  });

  it("takes the code action's one JSON object, or nothing", () => {
    expect(runArgsFrom([{ uri: "file:///a", mode: "edit" }])).toEqual({ uri: "file:///a", mode: "edit" });
    expect(runArgsFrom([])).toEqual({});
    expect(runArgsFrom(["text"])).toEqual({});
  });

  it("recognises a run result by its fields", () => {
    const result = { taskId: "t1", status: "done", summary: "ok", editedFiles: [], usage: { inputTokens: 1, outputTokens: 2 } };
    expect(isRunResult(result)).toBe(true);
    expect(isRunResult({ ...result, usage: {} })).toBe(false);
    expect(isRunResult(null)).toBe(false);
  });
});

describe("undoTarget", () => {
  const task = (taskId: string, status: TaskInfo["status"]): TaskInfo => ({
    taskId,
    status,
    instruction: "x",
    uri: null,
    step: "",
    seconds: 1,
    usage: { inputTokens: 0, outputTokens: 0 },
  });
  const status: StatusResult = { running: [task("t4", "running")], recent: [task("t1", "done"), task("t2", "cancelled"), task("t3", "done")], usage: { inputTokens: 0, outputTokens: 0 } };

  it("is the last run's task, else the newest finished one agentls.status lists", () => {
    expect(undoTarget("t9", status)).toBe("t9");
    expect(undoTarget(undefined, status)).toBe("t3");
    expect(undoTarget(undefined, { ...status, recent: [] })).toBeUndefined();
    expect(undoTarget(undefined, undefined)).toBeUndefined();
  });
});

describe("command ids", () => {
  const server = serverCommandIds();

  it("reads the server's command ids from commands.py", () => {
    expect(server).toEqual(expect.arrayContaining(Object.values(SERVER_COMMANDS)));
  });

  it("never collide with the server's (vscode-languageclient registers those)", () => {
    for (const id of Object.values(CLIENT_COMMANDS)) {
      expect(server).not.toContain(id);
    }
  });

  it("are exactly the commands package.json contributes, each with an Agent title", () => {
    expect(contributedCommands.map((c) => c.command).sort()).toEqual(Object.values(CLIENT_COMMANDS).sort());
    for (const command of contributedCommands) {
      expect(command.category).toBe("Agent");
      expect(command.title.length).toBeGreaterThan(2);
    }
    const titles = Object.fromEntries(contributedCommands.map((c) => [c.command, c.title]));
    expect(titles[CLIENT_COMMANDS.runTask]).toBe("Run task…");
    expect(titles[CLIENT_COMMANDS.editSelection]).toBe("Edit selection…");
    expect(titles[CLIENT_COMMANDS.restart]).toBe("Restart server");
  });

  it("bind keys for Run task… and Edit selection…", () => {
    const bound = manifest.contributes.keybindings.map((k) => k.command);
    expect(bound).toEqual([CLIENT_COMMANDS.runTask, CLIENT_COMMANDS.editSelection]);
  });

  it("match the server's 'Agent: edit selection…' action: agentls.run without an instruction", () => {
    const action = editSelectionAction();
    expect(action?.command).toBe(SERVER_COMMANDS.run);
    expect(action?.argumentKeys).not.toContain("instruction");
    expect(action?.argumentKeys).toEqual(expect.arrayContaining(["uri", "range"]));
  });
});
