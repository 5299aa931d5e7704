import { beforeAll, describe, expect, it } from "vitest";
import * as vscode from "vscode";
import { DOC_SCHEME, documentUri, registerDocuments } from "../src/documents";
import { TaskStatus } from "../src/status";
import { taskFailure } from "../src/tasks";
import { recorded } from "./vscode-stub";

beforeAll(() => {
  registerDocuments();
});

describe("read-only documents (an answer, a plan, the context)", () => {
  it("are served under their own scheme, named after their first line, each with its text", async () => {
    const first = documentUri("# Answer: what does f/g do?\n\nIt adds.\n");
    const second = documentUri("# Plan\n\n1. read\n");
    expect(first.scheme).toBe(DOC_SCHEME);
    expect(first.path).toMatch(/^\/\d+\/Answer - what does f g do\.md$/);
    expect(second.path).toMatch(/\/Plan\.md$/);
    const document = await vscode.workspace.openTextDocument(first);
    expect(document).toMatchObject({ language: "markdown", content: "# Answer: what does f/g do?\n\nIt adds.\n" });
    expect(recorded.documents.at(-1)?.content).toBe("# Answer: what does f/g do?\n\nIt adds.\n");
  });
});

describe("a task whose server went away", () => {
  it("says so in words, and keeps other errors as they are", () => {
    const gone = taskFailure(new Error("Pending response rejected since connection got disposed"));
    expect(gone.message).toMatch(/^the server stopped during the task/);
    expect(gone.message).toContain("Ctrl+Z");
    const other = new Error("the agentls server is not running");
    expect(taskFailure(other)).toBe(other);
  });

  it("a restart of the server clears the last task's failure from the status bar", () => {
    const status = new TaskStatus();
    status.serverRunning("python");
    status.requestStarted();
    status.requestEnded(undefined, "the server stopped during the task");
    expect(status.view().text).toBe("$(error) agentls: failed");
    status.serverStarting();
    status.serverRunning("python");
    expect(status.view().text).toBe("$(hubot) agentls");
  });
});
