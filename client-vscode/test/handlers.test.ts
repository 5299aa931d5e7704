import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as vscode from "vscode";
import { CLIENT_COMMANDS } from "../src/constants";
import { registerDocuments } from "../src/documents";
import { commandHandlers, messageUi, registerCommands, taskUi } from "../src/handlers";
import { TaskStatus } from "../src/status";
import { Tasks } from "../src/tasks";
import { answers, folders, recorded, reset, settings, window } from "./vscode-stub";

// the read-only documents (answers, the context) come from the extension's content provider
beforeAll(() => {
  registerDocuments();
});

type Call = { command: string; args: object | undefined };

function fakeServer(answer: (command: string, args: object | undefined) => unknown) {
  const calls: Call[] = [];
  let restarts = 0;
  return {
    calls,
    get restarts() {
      return restarts;
    },
    async execute(command: string, args?: object) {
      calls.push({ command, args });
      return answer(command, args);
    },
    async restart() {
      restarts += 1;
    },
  };
}

function fakeSecrets() {
  const store = new Map<string, string>();
  return {
    store,
    secrets: {
      get: async (key: string) => store.get(key),
      store: async (key: string, value: string) => void store.set(key, value),
      delete: async (key: string) => void store.delete(key),
      onDidChange: () => ({ dispose() {} }),
    } as unknown as vscode.SecretStorage,
  };
}

const done = { taskId: "t1", status: "done", summary: "rewrote f", editedFiles: ["file:///w/a.py"], usage: { inputTokens: 10, outputTokens: 5 } };
const uri = vscode.Uri.file("/w/a.py");

function openEditor(anchor: [number, number], active: [number, number]) {
  window.activeTextEditor = { document: { uri }, selection: new vscode.Selection(new vscode.Position(...anchor), new vscode.Position(...active)) };
}

function setup(answer: (command: string, args: object | undefined) => unknown = () => done) {
  const server = fakeServer(answer);
  const { secrets, store } = fakeSecrets();
  const tasks = new Tasks(new TaskStatus(), taskUi);
  const log = window.createOutputChannel("agentls") as unknown as vscode.OutputChannel & { lines: string[] };
  const handlers = commandHandlers({ server, tasks, secrets, log });
  return { server, store, tasks, handlers, log };
}

describe("command handlers", () => {
  beforeEach(() => {
    reset();
    folders.push({ uri: vscode.Uri.file("/w"), name: "w", index: 0 });
  });

  it("Run task…: asks, then runs agentls.run on the selection and remembers the task", async () => {
    const { handlers, server, tasks } = setup();
    openEditor([2, 0], [5, 3]);
    answers.inputBox.push("add type hints");
    await handlers.runTask();
    expect(server.calls).toEqual([
      {
        command: "agentls.run",
        args: { instruction: "add type hints", mode: "edit", uri: "file:///w/a.py", range: { start: { line: 2, character: 0 }, end: { line: 5, character: 3 } } },
      },
    ]);
    expect(tasks.lastTaskId).toBe("t1");
    expect(JSON.stringify(answers.inputBoxOptions[0])).toContain("a.py, lines 3-6");
    expect(recorded.statusMessages.some((m) => m.includes("rewrote f"))).toBe(true);
  });

  it("Run task…: nothing is sent when the input box is dismissed", async () => {
    const { handlers, server } = setup();
    answers.inputBox.push(undefined);
    await handlers.runTask();
    expect(server.calls).toEqual([]);
  });

  it("Plan…: mode plan on the file; the plan opened when asked for approval (messages.ts), not again after", async () => {
    const { handlers, server } = setup(() => ({ ...done, summary: "split into two modules" }));
    openEditor([1, 1], [1, 1]);
    answers.inputBox.push("split this module");
    await handlers.plan();
    expect(server.calls[0]).toEqual({ command: "agentls.run", args: { instruction: "split this module", mode: "plan", uri: "file:///w/a.py" } });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(recorded.documents).toEqual([]);
  });

  it("Run task…: on the workspace when the active document is outside it (an opened plan, an untitled buffer)", async () => {
    const { handlers, server } = setup();
    window.activeTextEditor = { document: { uri: vscode.Uri.parse("untitled:Untitled-1") }, selection: new vscode.Selection(new vscode.Position(0, 0), new vscode.Position(0, 0)) };
    answers.inputBox.push("tidy up");
    await handlers.runTask();
    expect(server.calls[0]).toEqual({ command: "agentls.run", args: { instruction: "tidy up", mode: "edit" } });
  });

  it("Ask…: mode ask on the file, the answer opens as Markdown", async () => {
    const { handlers, server } = setup(() => ({ ...done, summary: "It adds." }));
    openEditor([1, 1], [1, 1]);
    answers.inputBox.push("what does it do?");
    await handlers.ask();
    expect(server.calls[0]).toEqual({ command: "agentls.run", args: { instruction: "what does it do?", mode: "ask", uri: "file:///w/a.py" } });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(recorded.documents).toEqual([{ language: "markdown", content: "# Answer: what does it do?\n\nIt adds.\n" }]);
  });

  it("Edit selection…: an empty range at the cursor when nothing is selected", async () => {
    const { handlers, server } = setup();
    openEditor([7, 4], [7, 4]);
    answers.inputBox.push("add a docstring");
    await handlers.editSelection();
    expect(server.calls[0]?.args).toEqual({
      instruction: "add a docstring",
      uri: "file:///w/a.py",
      range: { start: { line: 7, character: 4 }, end: { line: 7, character: 4 } },
      mode: "edit",
    });
  });

  it("Edit selection…: says to open a file when there is no editor", async () => {
    const { handlers, server } = setup();
    await handlers.editSelection();
    expect(server.calls).toEqual([]);
    expect(recorded.messages[0]?.text).toContain("open a file");
  });

  const running = (...ids: string[]) => ({
    running: ids.map((taskId) => ({ taskId, instruction: `do ${taskId}`, uri: null, status: "running", step: "writing", seconds: 1, usage: { inputTokens: 0, outputTokens: 0 } })),
    recent: [{ taskId: "t0", instruction: "old", uri: null, status: "done", step: "", seconds: 1, usage: { inputTokens: 0, outputTokens: 0 } }],
    usage: { inputTokens: 0, outputTokens: 0 },
  });

  it("Cancel: the one running task by id", async () => {
    const { handlers, server } = setup((command) => (command === "agentls.status" ? running("t5") : { cancelled: ["t5"] }));
    await handlers.cancel();
    expect(server.calls).toEqual([
      { command: "agentls.status", args: undefined },
      { command: "agentls.cancel", args: { taskId: "t5" } },
    ]);
  });

  it("Cancel: a pick among several, 'All tasks' sends no id", async () => {
    const { handlers, server } = setup((command) => (command === "agentls.status" ? running("t5", "t6") : { cancelled: [] }));
    answers.quickPick = { label: "All tasks", taskId: undefined };
    await handlers.cancel();
    expect(server.calls[1]).toEqual({ command: "agentls.cancel", args: {} });
  });

  it("Cancel: says so when nothing runs", async () => {
    const { handlers, server } = setup(() => running());
    await handlers.cancel();
    expect(server.calls.map((c) => c.command)).toEqual(["agentls.status"]);
    expect(recorded.messages[0]?.text).toContain("no task is running");
  });

  it("Undo last task: the last run's id, else the newest from agentls.status", async () => {
    const first = setup((command) => (command === "agentls.status" ? running() : { taskId: "t0", status: "undone", message: "ok" }));
    await first.handlers.undo();
    expect(first.server.calls).toEqual([
      { command: "agentls.status", args: undefined },
      { command: "agentls.undo", args: { taskId: "t0" } },
    ]);
    expect(recorded.statusMessages.at(-1)).toContain("undo undone");

    const second = setup((command) => (command === "agentls.run" ? done : { taskId: "t1", status: "undone" }));
    second.tasks.lastTaskId = "t1";
    await second.handlers.undo();
    expect(second.server.calls).toEqual([{ command: "agentls.undo", args: { taskId: "t1" } }]);
  });

  it("Show context: agentls.context at the cursor, opened as Markdown", async () => {
    const { handlers, server } = setup(() => ({ snippets: [{ path: "a.py", startLine: 1, endLine: 2, tokens: 9, reason: "enclosing function", text: "def f(): pass" }], totalTokens: 9 }));
    settings.user.set("agentls.context.maxTokens", 4000);
    openEditor([0, 0], [1, 4]);
    await handlers.showContext();
    expect(server.calls).toEqual([{ command: "agentls.context", args: { uri: "file:///w/a.py", position: { line: 1, character: 4 } } }]);
    expect(recorded.documents[0]?.language).toBe("markdown");
    expect(recorded.documents[0]?.content).toContain("# Context for a.py:2");
    expect(recorded.documents[0]?.content).toContain("of a budget of 4000");
  });

  it("Set API Key: stores it in SecretStorage (never in settings); empty removes it", async () => {
    const { handlers, store } = setup();
    settings.user.set("agentls.model.apiKeyEnv", "MY_KEY");
    answers.inputBox.push(" sk-123 ");
    await handlers.setApiKey();
    expect(store.get("agentls.apiKey")).toBe("sk-123");
    expect(JSON.stringify(answers.inputBoxOptions[0])).toContain('"password":true');
    expect(recorded.messages[0]?.text).toContain("MY_KEY");
    expect([...settings.user.values()]).not.toContain("sk-123");
    answers.inputBox.push("");
    await handlers.setApiKey();
    expect(store.has("agentls.apiKey")).toBe(false);
  });

  it("Restart server: restarts", async () => {
    const { handlers, server } = setup();
    await handlers.restart();
    expect(server.restarts).toBe(1);
  });
});

describe("registerCommands", () => {
  beforeEach(reset);

  it("registers every contributed command and turns a failure into one error message", async () => {
    const { handlers, log } = setup(() => {
      throw new Error("the agentls server is not running");
    });
    const disposables = registerCommands(CLIENT_COMMANDS, handlers, log);
    expect([...recorded.commands.keys()].sort()).toEqual(Object.values(CLIENT_COMMANDS).sort());
    await vscode.commands.executeCommand(CLIENT_COMMANDS.cancel);
    expect(recorded.messages).toEqual([{ level: "error", text: "agentls: the agentls server is not running", buttons: ["Show Log"] }]);
    expect(log.lines.at(-1)).toContain("agentls.client.cancel failed");
    for (const d of disposables) d.dispose();
    expect(recorded.commands.size).toBe(0);
  });
});

describe("the server's questions in VS Code", () => {
  beforeEach(() => reset());

  it("with a detail: a modal dialog with the server's actions, answered with the action picked", async () => {
    const actions = [{ title: "Allow once" }, { title: "Allow for this task" }, { title: "Deny" }];
    answers.message = actions[2];
    const answer = await messageUi.show(3, "agentls task t1 wants to edit a.py:", actions, "@@ -1 +1 @@\n-a\n+b");
    expect(recorded.messages).toEqual([
      {
        level: "info",
        text: "agentls task t1 wants to edit a.py:",
        buttons: ["Allow once", "Allow for this task", "Deny"],
        options: { modal: true, detail: "@@ -1 +1 @@\n-a\n+b" },
      },
    ]);
    expect(answer).toBe(actions[2]);
  });

  it("without a detail: a notification of the message's type, as before", async () => {
    answers.message = undefined;
    const answer = await messageUi.show(2, "agentls: keep the old model?", [{ title: "Allow" }, { title: "Keep the old model" }]);
    expect(recorded.messages).toEqual([{ level: "warning", text: "agentls: keep the old model?", buttons: ["Allow", "Keep the old model"] }]);
    expect(recorded.messages[0]).not.toHaveProperty("options");
    expect(answer).toBeUndefined();
  });
});
