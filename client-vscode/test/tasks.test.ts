import { describe, expect, it, vi } from "vitest";
import type { RunResult } from "../src/commands";
import { TaskStatus } from "../src/status";
import { DiagnosticsFeature, type DiagnosticsClient, type DiagnosticTimes } from "../src/diagnostics";
import { InstructionPromptFeature, Tasks, type TaskUi } from "../src/tasks";

function result(status: RunResult["status"], taskId = "t7"): RunResult {
  return { taskId, status, summary: `${status} summary`, editedFiles: [], usage: { inputTokens: 100, outputTokens: 20 } };
}

function setup(instruction: string | undefined) {
  const ui = {
    askInstruction: vi.fn<TaskUi["askInstruction"]>(async () => instruction),
    showResult: vi.fn<TaskUi["showResult"]>(),
    showOutcome: vi.fn<TaskUi["showOutcome"]>(),
  };
  const status = new TaskStatus();
  status.serverRunning("python3");
  return { ui, status, tasks: new Tasks(status, ui) };
}

describe("the executeCommand middleware", () => {
  const action = { uri: "file:///w/a.py", range: { start: { line: 1, character: 0 }, end: { line: 4, character: 0 } }, mode: "edit" };

  it("asks for the instruction the 'Agent: edit selection…' code action leaves out", async () => {
    const { ui, tasks } = setup("  rename x to y ");
    const next = vi.fn(async () => result("done"));
    const answer = await tasks.executeCommand("agentls.run", [action], next);
    expect(ui.askInstruction).toHaveBeenCalledOnce();
    expect(next).toHaveBeenCalledWith("agentls.run", [{ ...action, instruction: "rename x to y" }]);
    expect(answer).toEqual(result("done"));
    expect(tasks.lastTaskId).toBe("t7");
  });

  it("sends nothing when the user dismisses the question", async () => {
    const { tasks } = setup(undefined);
    const next = vi.fn();
    expect(await tasks.executeCommand("agentls.run", [action], next)).toBeUndefined();
    expect(next).not.toHaveBeenCalled();
  });

  it("passes a code action that carries its instruction straight through", async () => {
    const { ui, tasks } = setup("never asked");
    const next = vi.fn(async () => result("done"));
    await tasks.executeCommand("agentls.run", [{ ...action, instruction: "Fix this problem" }], next);
    expect(ui.askInstruction).not.toHaveBeenCalled();
    expect(next).toHaveBeenCalledWith("agentls.run", [{ ...action, instruction: "Fix this problem" }]);
  });

  it("hands other commands on and shows the outcome of undo and accept", async () => {
    const { ui, tasks } = setup(undefined);
    const next = vi.fn(async (command: string) => ({ command, status: "undone" }));
    expect(await tasks.executeCommand("agentls.undo", [{ taskId: "t1" }], next)).toEqual({ command: "agentls.undo", status: "undone" });
    expect(ui.showOutcome).toHaveBeenCalledWith("agentls.undo", { command: "agentls.undo", status: "undone" });
    await tasks.executeCommand("agentls.status", [], next);
    expect(ui.showOutcome).toHaveBeenCalledTimes(1);
  });
});

describe("Tasks.run and the status bar", () => {
  it("shows running while the request is open, then idle with the last summary", async () => {
    const { status, tasks, ui } = setup(undefined);
    let seen = "";
    await tasks.run({ instruction: "go", mode: "edit" }, async () => {
      seen = status.view().text;
      return result("done", "t1");
    });
    expect(seen).toContain("$(sync~spin)");
    expect(status.view().text).toBe("$(hubot) agentls");
    expect(status.view().tooltip).toContain("done: done summary (120 tok)");
    expect(ui.showResult).toHaveBeenCalledWith({ instruction: "go", mode: "edit" }, result("done", "t1"));
  });

  it("shows failed after a failed task, until the next run starts", async () => {
    const { status, tasks } = setup(undefined);
    await tasks.run({ instruction: "go" }, async () => result("failed"));
    expect(status.view()).toMatchObject({ text: "$(error) agentls: failed", command: "agentls.client.showLog", error: true });
    expect(status.view().tooltip).toContain("failed summary");
    let during = "";
    await tasks.run({ instruction: "again" }, async () => {
      during = status.view().text;
      return result("done");
    });
    expect(during).toContain("$(sync~spin)");
    expect(status.view().error).toBe(false);
  });

  it("shows failed when the request itself fails, and rethrows", async () => {
    const { status, tasks } = setup(undefined);
    await expect(tasks.run({ instruction: "go" }, async () => Promise.reject(new Error("Request failed")))).rejects.toThrow("Request failed");
    expect(status.view().tooltip).toContain("Request failed");
  });

  it("keeps an answer that is not a result out of lastTaskId", async () => {
    const { tasks, ui } = setup(undefined);
    expect(await tasks.run({ instruction: "go" }, async () => null)).toBeUndefined();
    expect(tasks.lastTaskId).toBeUndefined();
    expect(ui.showResult).not.toHaveBeenCalled();
  });
});

describe("the client capabilities", () => {
  it("announce agentlsInstructionPrompt beside agentlsDiagnostics (the server offers 'Agent: edit selection…' then)", () => {
    const capabilities: { experimental?: unknown } = {};
    new DiagnosticsFeature({} as DiagnosticsClient, {} as DiagnosticTimes).fillClientCapabilities(capabilities);
    new InstructionPromptFeature().fillClientCapabilities(capabilities);
    expect(capabilities.experimental).toEqual({ agentlsDiagnostics: true, agentlsInstructionPrompt: true });
  });
});
